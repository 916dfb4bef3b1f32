"""Instances and their timelines in the single table (layout in `platform.table`).

Every state change is a conditional write: the expected current states are part of the write, so
two workflows racing on one instance can never overwrite each other silently. The same transaction
keeps the index of running instances (`RUNNING#{0..7}`), which the interruption watch reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Literal

from pynamodb.attributes import (
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.exceptions import DeleteError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from dumont_core.instances.charges import idle_billing_changes
from dumont_core.instances.models import (
    Instance,
    InstanceEvent,
    InstanceStatus,
    StaleInstanceState,
    Standby,
)
from dumont_core.platform import table
from dumont_core.platform.dynamodb import (
    IndexedItem,
    TableItem,
    condition_failed,
    get_item,
    item_type,
    shared_connection,
    stored_value,
    to_model,
    write_refused,
)

InstanceItem = item_type(
    Instance,
    base=IndexedItem,
    closed_cost=NumberAttribute(default=0.0),
    # A set, so a connection is added and removed in place, and twice is the same as once.
    watchers=UnicodeSetAttribute(null=True),
)
InstanceEventItem = item_type(InstanceEvent, expires_at=TTLAttribute(null=True))


_INSTANCE_FIELDS = tuple(Instance.model_fields)


class RunningItem(TableItem):
    """An instance in `running`, in one of a few partitions chosen from its id."""

    team_id = UnicodeAttribute()
    instance_id = UnicodeAttribute()


def running_item(team_id: str, instance_id: str) -> RunningItem:
    bucket = table.bucket_of(instance_id, table.RUNNING_PARTITIONS)
    item = RunningItem(table.running_partition(bucket), table.key(team_id, instance_id))
    item.team_id, item.instance_id = team_id, instance_id
    return item


def _guard(
    instance: Instance,
    expected: Iterable[InstanceStatus],
    unchanged: bool,
    standby_was: Standby | Literal[False] | None,
) -> Condition:
    """The condition of a change: the instance exists in one of the `expected` states, unchanged since
    it was read if asked, holding the standby it held if asked."""
    condition = InstanceItem.PK.exists() & InstanceItem.status.is_in(*(status.value for status in expected))
    if unchanged:
        condition &= InstanceItem.updated_at == instance.updated_at
    if standby_was is None:
        condition &= InstanceItem.standby.does_not_exist()
    elif standby_was is not False:
        condition &= InstanceItem.standby == standby_was
    return condition


class UnsettledItem(TableItem):
    """An instance whose billing changed (an interval opened or closed, a price) since it was settled."""

    team_id = UnicodeAttribute()
    instance_id = UnicodeAttribute()
    changed_at = UTCDateTimeAttribute()


BILLED_FIELDS = frozenset(
    {"running_since", "closed_cost", "cost_per_hour", "stopped_since", "standby_billed_since"}
)
"""Fields whose change changes what an instance has cost: the change marks it for the meter to settle."""


def unsettled_item(team_id: str, instance_id: str) -> UnsettledItem:
    bucket = table.bucket_of(instance_id, table.UNSETTLED_PARTITIONS)
    return UnsettledItem(table.unsettled_partition(bucket), table.key(team_id, instance_id))


def instance_item_key(team_id: str, instance_id: str) -> Any:
    """The instance's item by its keys alone, to update without reading it first."""
    return InstanceItem(table.team_key(team_id), table.instance_key(instance_id))


class InstanceRepository:
    def __init__(self, *, event_retention: timedelta) -> None:
        self._event_retention = event_retention

    # Reads -------------------------------------------------------------------------------------

    def get(self, team_id: str, instance_id: str) -> Instance | None:
        item = get_item(
            InstanceItem, table.team_key(team_id), table.instance_key(instance_id), consistent=True
        )
        return None if item is None else self._to_instance(item)

    def list_for_team(
        self,
        team_id: str,
        *,
        status: InstanceStatus | None = None,
        gpu_type: str | None = None,
        include_deleted: bool = False,
    ) -> list[Instance]:
        """A team's instances, newest first, in one query (DynamoDB pages followed transparently)."""
        condition: Condition | None = None
        if status is not None:
            condition = InstanceItem.status == status.value
        elif not include_deleted:
            condition = InstanceItem.status != InstanceStatus.DELETED.value
        if gpu_type is not None:
            gpu_condition = InstanceItem.gpu_type == gpu_type
            condition = gpu_condition if condition is None else condition & gpu_condition
        items = InstanceItem.query(
            table.team_key(team_id),
            InstanceItem.SK.startswith(table.INSTANCE_PREFIX),
            filter_condition=condition,
        )
        instances = [self._to_instance(item) for item in items]
        instances.sort(key=lambda instance: instance.created_at, reverse=True)
        return instances

    def running(self) -> list[Instance]:
        """Every instance in `running`, whatever its team: a query per index partition, then their
        records in batches."""
        keys = [
            (item.team_id, item.instance_id)
            for bucket in range(table.RUNNING_PARTITIONS)
            for item in RunningItem.query(table.running_partition(bucket))
        ]
        items = InstanceItem.batch_get(
            [(table.team_key(team_id), table.instance_key(instance_id)) for team_id, instance_id in keys]
        )
        instances = [self._to_instance(item) for item in items]
        return [instance for instance in instances if instance.status == InstanceStatus.RUNNING]

    def list_events(self, instance_id: str) -> list[InstanceEvent]:
        items = InstanceEventItem.query(
            table.instance_key(instance_id), InstanceEventItem.SK.startswith(table.EVENT_PREFIX)
        )
        return [to_model(InstanceEvent, item) for item in items]

    # Writes ------------------------------------------------------------------------------------

    def create(self, instance: Instance, event: InstanceEvent) -> None:
        """Store a new instance and its first event together, or neither."""
        item = self._to_item(instance)
        with TransactWrite(connection=shared_connection()) as transaction:
            transaction.save(item, condition=InstanceItem.PK.does_not_exist())
            transaction.save(self._event_item(event))

    def transition(
        self,
        instance: Instance,
        *,
        expected: Iterable[InstanceStatus],
        changes: Mapping[str, Any],
        events: Iterable[InstanceEvent] = (),
        unchanged: bool = False,
        standby_was: Standby | Literal[False] | None = False,
    ) -> Instance:
        """Apply `changes` if the instance is still in one of the `expected` states (and, if `unchanged`,
        not changed at all since `instance` was read; and, unless `standby_was` is False, still holds
        exactly that standby, or none for None).

        The events are written in the same transaction, so the timeline never shows a change that
        did not happen; so is what the instance is billed for machines it keeps idle. Raises
        StaleInstanceState when the instance moved on meanwhile.
        """
        unknown = set(changes) - set(_INSTANCE_FIELDS)
        if unknown or "updated_at" not in changes:
            raise ValueError(f"changes must be instance fields and include updated_at: {sorted(changes)}")
        changes = {**changes, **idle_billing_changes(instance, changes, changes["updated_at"])}
        updated = instance.model_copy(update=dict(changes))
        actions = []
        for field, value in changes.items():
            attribute = getattr(InstanceItem, field)
            stored = stored_value(value)
            actions.append(attribute.remove() if stored is None else attribute.set(stored))
        condition = _guard(instance, expected, unchanged, standby_was)
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.update(
                    instance_item_key(instance.team_id, instance.instance_id),
                    actions=actions,
                    condition=condition,
                )
                if "status" in changes:
                    running = running_item(instance.team_id, instance.instance_id)
                    if changes["status"] == InstanceStatus.RUNNING:
                        transaction.save(running)
                    else:
                        transaction.delete(running)
                if BILLED_FIELDS & set(changes):
                    unsettled = unsettled_item(instance.team_id, instance.instance_id)
                    unsettled.team_id, unsettled.instance_id = instance.team_id, instance.instance_id
                    unsettled.changed_at = changes["updated_at"]
                    transaction.save(unsettled)
                for event in events:
                    transaction.save(self._event_item(event))
        except TransactWriteError as error:
            if condition_failed(error):
                raise StaleInstanceState(instance.instance_id) from error
            raise
        return updated

    def unsettled(self) -> list[tuple[Instance, Any]]:
        """Every instance whose billing changed since it was last settled, with when it changed: a query
        per index partition, then their records in batches."""
        marks = {
            (item.team_id, item.instance_id): item.changed_at
            for bucket in range(table.UNSETTLED_PARTITIONS)
            for item in UnsettledItem.query(table.unsettled_partition(bucket))
        }
        items = InstanceItem.batch_get(
            [(table.team_key(team_id), table.instance_key(instance_id)) for team_id, instance_id in marks]
        )
        instances = [self._to_instance(item) for item in items]
        return [(instance, marks[(instance.team_id, instance.instance_id)]) for instance in instances]

    def settled(self, team_id: str, instance_id: str, changed_at: Any) -> None:
        """Forget the mark, unless the instance's billing changed again since `changed_at`."""
        try:
            unsettled_item(team_id, instance_id).delete(condition=UnsettledItem.changed_at == changed_at)
        except DeleteError as error:
            if not write_refused(error):
                raise

    def add_event(self, event: InstanceEvent) -> None:
        """An event about the instance that changes none of its fields (a snapshot finished)."""
        self._event_item(event).save()

    # Mapping -----------------------------------------------------------------------------------

    def _to_item(self, instance: Instance) -> Any:
        values = {field: stored_value(getattr(instance, field)) for field in _INSTANCE_FIELDS}
        values["watchers"] = set(instance.watchers) or None  # DynamoDB keeps no empty set
        return InstanceItem(
            table.team_key(instance.team_id),
            table.instance_key(instance.instance_id),
            GSI1PK=table.instance_key(instance.instance_id),
            GSI1SK=table.INSTANCE_INDEX_RECORD,
            **values,
        )

    @staticmethod
    def _to_instance(item: Any) -> Instance:
        # Instances stored before keys were kept on them hold none beyond the one given at creation; an
        # instance nobody watches holds no set of watchers.
        return to_model(Instance, item, ssh_keys=[], watchers=[])

    def _event_item(self, event: InstanceEvent) -> Any:
        # The random suffix keeps two events of the same microsecond apart.
        return InstanceEventItem(
            table.instance_key(event.instance_id),
            table.key("EVENT", event.timestamp, uuid.uuid4().hex[:8]),
            expires_at=event.timestamp + self._event_retention,
            **event.model_dump(),
        )
