"""What the agents report about their machines: the latest reading on the instance, a sample per
heartbeat, and hourly rollups, in the single table (layout in `platform.table`).

A heartbeat is one TransactWrite: the instance's latest reading, the sample and the hour's rollup.
Short periods are read from samples, long ones from rollups, so a chart is one Query either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from dumont_core.instances.models import AGENT_STATES, METRIC_FIELDS, MetricPoint, reading_value
from dumont_core.instances.repository import InstanceItem, instance_item_key
from dumont_core.platform import table
from dumont_core.platform.dynamodb import TableItem, condition_failed, shared_connection


class HeartbeatRefused(Exception):
    """The instance is gone, or no longer in a state in which its machine runs an agent."""


class MetricSampleItem(TableItem):
    timestamp = UTCDateTimeAttribute()
    gpu_utilization = NumberAttribute(null=True)
    gpu_memory_used_gb = NumberAttribute(null=True)
    cpu_utilization = NumberAttribute(null=True)
    ram_used_gb = NumberAttribute(null=True)
    expires_at = TTLAttribute()


class HourlyRollupItem(TableItem):
    hour = UTCDateTimeAttribute()
    samples = NumberAttribute(default=0)
    gpu_utilization_sum = NumberAttribute(default=0)
    gpu_memory_used_gb_sum = NumberAttribute(default=0)
    cpu_utilization_sum = NumberAttribute(default=0)
    ram_used_gb_sum = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class MetricsRepository:
    def __init__(self, *, retention: timedelta) -> None:
        self._retention = retention

    def record_heartbeat(
        self,
        team_id: str,
        instance_id: str,
        reading: Mapping[str, Any],
        now: datetime,
        interval_seconds: float | None = None,
    ) -> None:
        """Keep the reading as the instance's latest, as a sample, and in the hour's rollup, with the
        interval the agent is told to beat at next (`interval_seconds`), when given.

        Refused (HeartbeatRefused) unless the instance is in a state in which its machine runs.
        """
        values = {field: reading_value(reading, field) for field in METRIC_FIELDS}
        expires = now + self._retention
        partition = table.instance_key(instance_id)
        sample = MetricSampleItem(partition, table.metric_sample_key(now), timestamp=now, expires_at=expires)
        for field, value in values.items():
            setattr(sample, field, value)
        hour = now.replace(minute=0, second=0, microsecond=0)
        rollup_actions: list[Action] = [
            HourlyRollupItem.hour.set(hour),
            HourlyRollupItem.samples.add(1),
            HourlyRollupItem.expires_at.set(expires),
        ]
        for field, value in values.items():
            if value is not None:
                rollup_actions.append(getattr(HourlyRollupItem, f"{field}_sum").add(value))
        accepted = InstanceItem.PK.exists() & InstanceItem.status.is_in(
            *[status.value for status in AGENT_STATES]
        )
        instance_actions: list[Action] = [
            InstanceItem.last_heartbeat_at.set(now),
            InstanceItem.latest_metrics.set(dict(reading)),
        ]
        if interval_seconds is not None:
            instance_actions.append(InstanceItem.heartbeat_interval_seconds.set(interval_seconds))
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.update(
                    instance_item_key(team_id, instance_id),
                    actions=instance_actions,
                    condition=accepted,
                )
                transaction.save(sample)
                transaction.update(
                    HourlyRollupItem(partition, table.hourly_rollup_key(hour)), actions=rollup_actions
                )
        except TransactWriteError as error:
            if condition_failed(error):
                raise HeartbeatRefused(instance_id) from None
            raise

    def samples(self, instance_id: str, since: datetime, until: datetime) -> list[MetricPoint]:
        items = MetricSampleItem.query(
            table.instance_key(instance_id),
            MetricSampleItem.SK.between(table.metric_sample_key(since), table.metric_sample_key(until)),
        )
        return [
            MetricPoint(
                timestamp=item.timestamp,
                values={field: getattr(item, field) for field in METRIC_FIELDS},
                samples=1,
            )
            for item in items
        ]

    def hourly(self, instance_id: str, since: datetime, until: datetime) -> list[MetricPoint]:
        items = HourlyRollupItem.query(
            table.instance_key(instance_id),
            HourlyRollupItem.SK.between(table.hourly_rollup_key(since), table.hourly_rollup_key(until)),
        )
        points = []
        for item in items:
            count = int(item.samples or 0)
            if count == 0:
                continue
            points.append(
                MetricPoint(
                    timestamp=item.hour,
                    values={
                        field: float(getattr(item, f"{field}_sum") or 0) / count for field in METRIC_FIELDS
                    },
                    samples=count,
                )
            )
        return points


def downsample(points: list[MetricPoint], bucket: timedelta) -> list[MetricPoint]:
    """Averages per bucket (weighted by the samples each point stands for); empty buckets are left out."""
    seconds = bucket.total_seconds()
    grouped: dict[float, list[MetricPoint]] = {}
    for point in points:
        start = point.timestamp.timestamp() // seconds * seconds
        grouped.setdefault(start, []).append(point)
    result = []
    for start, members in sorted(grouped.items()):
        values: dict[str, float | None] = {}
        for field in METRIC_FIELDS:
            weighted = [
                (float(value), point.samples)
                for point in members
                if (value := point.values.get(field)) is not None
            ]
            total = sum(weight for _, weight in weighted)
            values[field] = (
                round(sum(value * weight for value, weight in weighted) / total, 2) if total else None
            )
        result.append(
            MetricPoint(
                timestamp=datetime.fromtimestamp(start, tz=members[0].timestamp.tzinfo),
                values=values,
                samples=sum(point.samples for point in members),
            )
        )
    return result
