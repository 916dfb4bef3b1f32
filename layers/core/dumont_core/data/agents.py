"""Heartbeats, metric samples and agent actions in the single table.

| item            | PK                  | SK                          | notes                              |
|-----------------|---------------------|-----------------------------|------------------------------------|
| metric sample   | `INSTANCE#{id}`     | `METRIC#{timestamp}`        | one per heartbeat, TTL             |
| hourly rollup   | `INSTANCE#{id}`     | `METRICH#{hour}`            | sums, counts and maxima, TTL       |
| agent action    | `INSTANCE#{id}`     | `ACTION#{action_id}`        | what the agent is asked to do, TTL |

A heartbeat is one TransactWrite: the instance's latest reading, the sample and the hour's rollup.
Short periods are read from samples, long ones from rollups, so a chart is one Query either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from dumont_core.data.instances import (
    InstanceItem,
    TableItem,
    condition_failed,
    shared_connection,
    write_refused,
)
from dumont_core.models import AGENT_STATES, reading_value

# What a chart can show, as reported in heartbeats.
METRIC_FIELDS = ("gpu_utilization", "gpu_memory_used_gb", "cpu_utilization", "ram_used_gb")


class AgentNotAccepted(Exception):
    """The instance is gone, no longer runs an agent, or was given another agent token meanwhile."""


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


class ActionItem(TableItem):
    action_id = UnicodeAttribute()
    instance_id = UnicodeAttribute()
    team_id = UnicodeAttribute()
    action_type = UnicodeAttribute()
    status = UnicodeAttribute()
    params = JSONAttribute()
    task_token = UnicodeAttribute(null=True)
    result = JSONAttribute(null=True)
    error = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


@dataclass(frozen=True)
class MetricPoint:
    timestamp: datetime
    values: dict[str, float | None]
    samples: int


def _instance_key(instance_id: str) -> str:
    return f"INSTANCE#{instance_id}"


def _sample_key(timestamp: datetime) -> str:
    return f"METRIC#{timestamp.isoformat()}"


def _rollup_key(hour: datetime) -> str:
    return f"METRICH#{hour.isoformat()}"


class AgentRepository:
    def __init__(self, table_name: str, *, metric_retention: timedelta, action_retention: timedelta) -> None:
        for model in (TableItem, InstanceItem, MetricSampleItem, HourlyRollupItem, ActionItem):
            model.Meta.table_name = table_name
        self._metric_retention = metric_retention
        self._action_retention = action_retention

    # heartbeats and metrics

    def record_heartbeat(
        self, team_id: str, instance_id: str, reading: Mapping[str, Any], now: datetime
    ) -> None:
        """Keep the reading as the instance's latest, as a sample, and in the hour's rollup.

        Refused (AgentNotAccepted) unless the instance is in a state in which its machine runs.
        """
        instance = InstanceItem(f"TEAM#{team_id}", f"INSTANCE#{instance_id}")
        values = {field: reading_value(reading, field) for field in METRIC_FIELDS}
        expires = now + self._metric_retention
        sample = MetricSampleItem(
            _instance_key(instance_id), _sample_key(now), timestamp=now, expires_at=expires
        )
        for field, value in values.items():
            setattr(sample, field, value)
        hour = now.replace(minute=0, second=0, microsecond=0)
        rollup = HourlyRollupItem(_instance_key(instance_id), _rollup_key(hour))
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
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.update(
                    instance,
                    actions=[
                        InstanceItem.last_heartbeat_at.set(now),
                        InstanceItem.latest_metrics.set(dict(reading)),
                    ],
                    condition=accepted,
                )
                transaction.save(sample)
                transaction.update(rollup, actions=rollup_actions)
        except TransactWriteError as error:
            if condition_failed(error):
                raise AgentNotAccepted(instance_id) from None
            raise

    def samples(self, instance_id: str, since: datetime, until: datetime) -> list[MetricPoint]:
        items = MetricSampleItem.query(
            _instance_key(instance_id), MetricSampleItem.SK.between(_sample_key(since), _sample_key(until))
        )
        return [
            MetricPoint(item.timestamp, {field: getattr(item, field) for field in METRIC_FIELDS}, 1)
            for item in items
        ]

    def hourly(self, instance_id: str, since: datetime, until: datetime) -> list[MetricPoint]:
        items = HourlyRollupItem.query(
            _instance_key(instance_id), HourlyRollupItem.SK.between(_rollup_key(since), _rollup_key(until))
        )
        points = []
        for item in items:
            count = int(item.samples or 0)
            if count == 0:
                continue
            points.append(
                MetricPoint(
                    item.hour,
                    {field: float(getattr(item, f"{field}_sum") or 0) / count for field in METRIC_FIELDS},
                    count,
                )
            )
        return points

    # actions

    def add_action(self, action: ActionItem) -> None:
        action.PK, action.SK = _instance_key(action.instance_id), f"ACTION#{action.action_id}"
        action.expires_at = action.created_at + self._action_retention
        action.save(condition=ActionItem.PK.does_not_exist())

    def pending_actions(self, instance_id: str) -> list[ActionItem]:
        return list(
            ActionItem.query(
                _instance_key(instance_id),
                ActionItem.SK.startswith("ACTION#"),
                filter_condition=ActionItem.status == "pending",
            )
        )

    def action(self, instance_id: str, action_id: str) -> ActionItem | None:
        try:
            return ActionItem.get(_instance_key(instance_id), f"ACTION#{action_id}")
        except DoesNotExist:
            return None

    def move_action(
        self,
        action: ActionItem,
        *,
        expected: tuple[str, ...],
        status: str,
        now: datetime,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Move an action on if it is still in one of the `expected` states; False if it was not."""
        actions: list[Action] = [ActionItem.status.set(status), ActionItem.updated_at.set(now)]
        if result is not None:
            actions.append(ActionItem.result.set(result))
        if error is not None:
            actions.append(ActionItem.error.set(error))
        try:
            action.update(actions=actions, condition=ActionItem.status.is_in(*expected))
        except UpdateError as error_:
            if write_refused(error_):
                return False
            raise
        return True
