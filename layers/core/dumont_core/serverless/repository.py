"""Which instances the idle check watches, and the record of every hibernation, in the single table
(layout in `platform.table`).

The watch list is spread over a few partitions (chosen from the instance id) so the scheduled check
reads it with a handful of queries, never a Scan, however many teams use serverless mode.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError

from dumont_core.platform import table
from dumont_core.platform.dynamodb import TableItem, item_type, to_model, write_refused
from dumont_core.serverless.models import Hibernation, WatchedInstance


class WatchItem(TableItem):
    team_id = UnicodeAttribute()
    instance_id = UnicodeAttribute()


HibernationItem = item_type(Hibernation, expires_at=TTLAttribute())


def _watch(team_id: str, instance_id: str) -> WatchItem:
    bucket = table.bucket_of(instance_id, table.WATCH_PARTITIONS)
    return WatchItem(table.watch_partition(bucket), table.key(team_id, instance_id))


class ServerlessRepository:
    def __init__(self, *, record_retention: timedelta) -> None:
        self._record_retention = record_retention

    def watch(self, team_id: str, instance_id: str) -> None:
        item = _watch(team_id, instance_id)
        item.team_id, item.instance_id = team_id, instance_id
        item.save()

    def unwatch(self, team_id: str, instance_id: str) -> None:
        _watch(team_id, instance_id).delete()

    def watched(self) -> list[WatchedInstance]:
        return [
            WatchedInstance(team_id=item.team_id, instance_id=item.instance_id)
            for bucket in range(table.WATCH_PARTITIONS)
            for item in WatchItem.query(table.watch_partition(bucket))
        ]

    def record_hibernation(self, hibernation: Hibernation) -> None:
        HibernationItem(
            table.team_key(hibernation.team_id),
            table.hibernation_key(hibernation.hibernated_at, hibernation.instance_id),
            expires_at=hibernation.hibernated_at + self._record_retention,
            **hibernation.model_dump(),
        ).save()

    def record_wake(self, team_id: str, instance_id: str, hibernated_at: datetime, woke_at: datetime) -> None:
        """Note when a hibernated instance woke; nothing happens when its record has expired."""
        record = HibernationItem(table.team_key(team_id), table.hibernation_key(hibernated_at, instance_id))
        try:
            record.update(
                actions=[HibernationItem.woke_at.set(woke_at)], condition=HibernationItem.PK.exists()
            )
        except UpdateError as error:
            if not write_refused(error):
                raise

    def record_deletion(
        self, team_id: str, instance_id: str, hibernated_at: datetime, deleted_at: datetime
    ) -> None:
        """Note that a hibernated instance was deleted without waking; nothing happens when its record has
        expired or it woke."""
        record = HibernationItem(table.team_key(team_id), table.hibernation_key(hibernated_at, instance_id))
        try:
            record.update(
                actions=[HibernationItem.deleted_at.set(deleted_at)],
                condition=HibernationItem.PK.exists() & HibernationItem.woke_at.does_not_exist(),
            )
        except UpdateError as error:
            if not write_refused(error):
                raise

    def hibernations(self, team_id: str, since: datetime) -> list[Hibernation]:
        items = HibernationItem.query(
            table.team_key(team_id),
            HibernationItem.SK.between(table.hibernations_from(since), table.HIBERNATION_RANGE_END),
        )
        # Records written before they held their team are read with the team they were found under.
        return [to_model(Hibernation, item, team_id=team_id) for item in items]
