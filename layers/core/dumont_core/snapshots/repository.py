"""Snapshot records in the single table (layout in `platform.table`): the snapshots of a team, the
teams whose deleted snapshots left chunks to sweep, and the lease that keeps a sweep and a snapshot's
completion apart."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from dumont_core.platform import table
from dumont_core.platform.dynamodb import (
    TableItem,
    get_item,
    item_type,
    shared_connection,
    to_model,
    write_refused,
)
from dumont_core.snapshots.models import Snapshot, SnapshotStatus

SnapshotItem = item_type(Snapshot)


class SweepItem(TableItem):
    """A team with deleted snapshots whose chunks the scheduled sweep has yet to look at."""

    team_id = UnicodeAttribute()


class LeaseItem(TableItem):
    holder = UnicodeAttribute()
    expires_at = TTLAttribute()
    expires_epoch = NumberAttribute()


class StaleSnapshotState(Exception):
    pass


def _key(team_id: str, snapshot_id: str) -> tuple[str, str]:
    return table.team_key(team_id), table.key("SNAPSHOT", snapshot_id)


def _to_snapshot(item: Any) -> Snapshot:
    return to_model(Snapshot, item)


def _lease(team_id: str) -> LeaseItem:
    return LeaseItem(table.team_key(team_id), table.SWEEP_LEASE_RECORD)


class SnapshotRepository:
    def create(self, snapshot: Snapshot) -> None:
        item = SnapshotItem(*_key(snapshot.team_id, snapshot.snapshot_id), **snapshot.model_dump())
        item.save(condition=SnapshotItem.PK.does_not_exist())

    def get(self, team_id: str, snapshot_id: str) -> Snapshot | None:
        item = get_item(SnapshotItem, *_key(team_id, snapshot_id), consistent=True)
        return None if item is None else _to_snapshot(item)

    def list_for_team(self, team_id: str) -> list[Snapshot]:
        items = SnapshotItem.query(table.team_key(team_id), SnapshotItem.SK.startswith(table.SNAPSHOT_PREFIX))
        return sorted((_to_snapshot(item) for item in items), key=lambda item: item.created_at, reverse=True)

    def newest_completed(self, team_id: str, instance_id: str, *, excluding: str) -> Snapshot | None:
        """The instance's newest completed snapshot but `excluding`, or None."""
        completed = [
            snapshot
            for snapshot in self.list_for_team(team_id)
            if snapshot.instance_id == instance_id
            and snapshot.status == "completed"
            and snapshot.snapshot_id != excluding
        ]
        return max(completed, key=lambda snapshot: snapshot.completed_at or snapshot.created_at, default=None)

    def move(self, snapshot: Snapshot, *, expected: Iterable[SnapshotStatus], **changes: Any) -> Snapshot:
        """Apply `changes` if the snapshot is still in one of the `expected` states; the snapshot as
        changed, or StaleSnapshotState."""
        actions: list[Action] = []
        for name, value in changes.items():
            attribute = getattr(SnapshotItem, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        try:
            SnapshotItem(*_key(snapshot.team_id, snapshot.snapshot_id)).update(
                actions=actions, condition=SnapshotItem.PK.exists() & SnapshotItem.status.is_in(*expected)
            )
        except UpdateError as error:
            if write_refused(error):
                raise StaleSnapshotState(snapshot.snapshot_id) from None
            raise
        return snapshot.model_copy(update=changes)

    def delete(self, snapshot: Snapshot) -> None:
        """Remove the record and mark its team for the chunk sweep, together."""
        marker = SweepItem(table.SWEEP_PARTITION, snapshot.team_id, team_id=snapshot.team_id)
        with TransactWrite(connection=shared_connection()) as transaction:
            transaction.delete(SnapshotItem(*_key(snapshot.team_id, snapshot.snapshot_id)))
            transaction.save(marker)

    def teams_to_sweep(self) -> list[str]:
        return [item.team_id for item in SweepItem.query(table.SWEEP_PARTITION)]

    def swept(self, team_id: str) -> None:
        SweepItem(table.SWEEP_PARTITION, team_id).delete()

    # The sweep lease: chunk removal and snapshot completion never overlap within a team.

    def take_lease(self, team_id: str, holder: str, now: datetime, lifetime: timedelta) -> bool:
        expires = now + lifetime
        lease = _lease(team_id)
        lease.holder, lease.expires_at, lease.expires_epoch = holder, expires, int(expires.timestamp())
        try:
            lease.save(
                condition=LeaseItem.PK.does_not_exist() | (LeaseItem.expires_epoch < int(now.timestamp()))
            )
        except PutError as error:
            if write_refused(error):
                return False
            raise
        return True

    def lease_held(self, team_id: str, now: datetime) -> bool:
        lease = get_item(LeaseItem, table.team_key(team_id), table.SWEEP_LEASE_RECORD, consistent=True)
        return lease is not None and int(lease.expires_epoch) >= int(now.timestamp())

    def release_lease(self, team_id: str, holder: str) -> None:
        try:
            _lease(team_id).delete(condition=LeaseItem.holder == holder)
        except DeleteError as error:
            if not write_refused(error):
                raise
