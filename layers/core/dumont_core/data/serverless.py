"""Which instances the idle check watches, and the record of every hibernation.

| item               | PK                | SK                                  |
|--------------------|-------------------|-------------------------------------|
| watched instance   | `SERVERLESS#{n}`  | `{team_id}#{instance_id}`           |
| hibernation record | `TEAM#{team_id}`  | `HIBERNATION#{timestamp}#{inst_id}` |

The watch list is spread over a few partitions (`n` from the instance id) so the scheduled check
reads it with a handful of queries, never a Scan, however many teams use serverless mode.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist

from dumont_core.data.instances import TableItem

WATCH_PARTITIONS = 8


class WatchItem(TableItem):
    team_id = UnicodeAttribute()
    instance_id = UnicodeAttribute()


class HibernationItem(TableItem):
    instance_id = UnicodeAttribute()
    hibernated_at = UTCDateTimeAttribute()
    woke_at = UTCDateTimeAttribute(null=True)
    reason = UnicodeAttribute()
    savings_per_hour = NumberAttribute()
    snapshot_id = UnicodeAttribute()
    expires_at = TTLAttribute()


@dataclass(frozen=True)
class Watched:
    team_id: str
    instance_id: str


def _partition(instance_id: str) -> str:
    bucket = hashlib.sha256(instance_id.encode()).digest()[0] % WATCH_PARTITIONS
    return f"SERVERLESS#{bucket}"


def _hibernation_key(hibernated_at: datetime, instance_id: str) -> str:
    return f"HIBERNATION#{hibernated_at.isoformat()}#{instance_id}"


class ServerlessRepository:
    def __init__(self, table_name: str, *, record_retention: timedelta) -> None:
        for model in (TableItem, WatchItem, HibernationItem):
            model.Meta.table_name = table_name
        self._record_retention = record_retention

    def watch(self, team_id: str, instance_id: str) -> None:
        WatchItem(
            _partition(instance_id), f"{team_id}#{instance_id}", team_id=team_id, instance_id=instance_id
        ).save()

    def unwatch(self, team_id: str, instance_id: str) -> None:
        WatchItem(_partition(instance_id), f"{team_id}#{instance_id}").delete()

    def watched(self) -> list[Watched]:
        return [
            Watched(item.team_id, item.instance_id)
            for partition in range(WATCH_PARTITIONS)
            for item in WatchItem.query(f"SERVERLESS#{partition}")
        ]

    def record_hibernation(
        self,
        team_id: str,
        instance_id: str,
        hibernated_at: datetime,
        reason: str,
        savings_per_hour: float,
        snapshot_id: str,
    ) -> None:
        HibernationItem(
            f"TEAM#{team_id}",
            _hibernation_key(hibernated_at, instance_id),
            instance_id=instance_id,
            hibernated_at=hibernated_at,
            reason=reason,
            savings_per_hour=savings_per_hour,
            snapshot_id=snapshot_id,
            expires_at=hibernated_at + self._record_retention,
        ).save()

    def record_wake(self, team_id: str, instance_id: str, hibernated_at: datetime, woke_at: datetime) -> None:
        try:
            record = HibernationItem.get(f"TEAM#{team_id}", _hibernation_key(hibernated_at, instance_id))
        except DoesNotExist:
            return
        record.update(actions=[HibernationItem.woke_at.set(woke_at)])

    def hibernations(self, team_id: str, since: datetime) -> list[HibernationItem]:
        return list(
            HibernationItem.query(
                f"TEAM#{team_id}",
                # "~" sorts after every timestamp: the range stays within the team's hibernation records.
                HibernationItem.SK.between(f"HIBERNATION#{since.isoformat()}", "HIBERNATION#~"),
            )
        )
