"""Instances and their timelines in the single table (layout in `table.py`).

Every state change is a conditional write: the expected current states are part of the write, so
two workflows racing on one instance can never overwrite each other silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from dumont_core.aws_clients import configured_endpoint
from dumont_core.models import Instance, InstanceEvent, InstanceStatus
from dumont_core.settings import Settings


def shared_connection() -> Connection:
    """One connection (one botocore client) per process and AWS endpoint, reused by every transaction."""
    return _connection_for(configured_endpoint())


@cache
def _connection_for(endpoint: str | None) -> Connection:
    return Connection()


def condition_failed(error: TransactWriteError) -> bool:
    """Whether a transaction was refused because one of its conditions did not hold."""
    return any(
        reason is not None and reason.code == "ConditionalCheckFailed"
        for reason in error.cancellation_reasons
    )


CONDITION_REFUSED = "ConditionalCheckFailedException"


def write_refused(error: Exception) -> bool:
    """Whether a single write (pynamodb's or boto3's) was refused because its condition did not hold."""
    if isinstance(error, ClientError):
        return bool(error.response.get("Error", {}).get("Code") == CONDITION_REFUSED)
    return getattr(error, "cause_response_code", None) == CONDITION_REFUSED


class TableItem(Model):
    """Base of every item kind in the single table: the table's keys, its name set at start-up."""

    class Meta:
        table_name = "dumont"

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)


class StaleInstanceState(Exception):
    """The instance was not in any of the expected states when we tried to change it."""


def _team_key(team_id: str) -> str:
    return f"TEAM#{team_id}"


def _instance_key(instance_id: str) -> str:
    return f"INSTANCE#{instance_id}"


class InstanceItem(TableItem):
    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()

    instance_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    team_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    gpu_type = UnicodeAttribute()
    num_gpus = NumberAttribute()
    requested_region = UnicodeAttribute(null=True)
    image = UnicodeAttribute()
    disk_gb = NumberAttribute()
    ssh_key = UnicodeAttribute(null=True)
    failover_enabled = BooleanAttribute()
    failover_strategy = UnicodeAttribute(null=True)
    auto_hibernate = BooleanAttribute()
    idle_timeout_minutes = NumberAttribute(null=True)

    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()

    provider = UnicodeAttribute()
    provider_instance_id = UnicodeAttribute(null=True)
    offer_id = NumberAttribute(null=True)
    region = UnicodeAttribute(null=True)
    gpu_name = UnicodeAttribute(null=True)
    gpu_memory_gb = NumberAttribute(null=True)
    ip_address = UnicodeAttribute(null=True)
    ssh_port = NumberAttribute(null=True)
    jupyter_port = NumberAttribute(null=True)
    cost_per_hour = NumberAttribute(null=True)
    host_reliability = NumberAttribute(null=True)
    running_since = UTCDateTimeAttribute(null=True)
    billed_seconds = NumberAttribute()
    closed_cost = NumberAttribute(default=0.0)
    last_failover_at = UTCDateTimeAttribute(null=True)
    agent_token_digest = UnicodeAttribute(null=True)
    last_heartbeat_at = UTCDateTimeAttribute(null=True)
    latest_metrics = JSONAttribute(null=True)
    idle_gpu_threshold = NumberAttribute(null=True)
    hibernated_at = UTCDateTimeAttribute(null=True)
    last_snapshot_id = UnicodeAttribute(null=True)


class InstanceEventItem(TableItem):
    type = UnicodeAttribute()
    instance_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    team_id = UnicodeAttribute()
    timestamp = UTCDateTimeAttribute()
    details = JSONAttribute()
    expires_at = TTLAttribute(null=True)


_INSTANCE_FIELDS = tuple(Instance.model_fields)


def _to_attribute_value(value: Any) -> Any:
    # Enums are stored by value; pynamodb does not know StrEnum subclasses by name.
    return value.value if hasattr(value, "value") else value


class InstanceRepository:
    def __init__(self, table_name: str, *, event_retention: timedelta) -> None:
        for model in (TableItem, InstanceItem, InstanceEventItem):
            model.Meta.table_name = table_name
        self._event_retention = event_retention

    @classmethod
    def from_settings(cls, settings: Settings) -> InstanceRepository:
        return cls(settings.table_name, event_retention=timedelta(days=settings.event_retention_days))

    # Reads -------------------------------------------------------------------------------------

    def get(self, team_id: str, instance_id: str) -> Instance | None:
        try:
            item = InstanceItem.get(_team_key(team_id), _instance_key(instance_id), consistent_read=True)
        except DoesNotExist:
            return None
        return self._to_instance(item)

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
            _team_key(team_id),
            InstanceItem.SK.startswith("INSTANCE#"),
            filter_condition=condition,
        )
        instances = [self._to_instance(item) for item in items]
        instances.sort(key=lambda instance: instance.created_at, reverse=True)
        return instances

    def list_events(self, instance_id: str) -> list[InstanceEvent]:
        items = InstanceEventItem.query(_instance_key(instance_id), InstanceEventItem.SK.startswith("EVENT#"))
        return [
            InstanceEvent(
                type=item.type,
                instance_id=item.instance_id,
                account_id=item.account_id,
                team_id=item.team_id,
                timestamp=item.timestamp,
                details=item.details or {},
            )
            for item in items
        ]

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
    ) -> Instance:
        """Apply `changes` if the instance is still in one of the `expected` states.

        The events are written in the same transaction, so the timeline never shows a change that
        did not happen. Raises StaleInstanceState when the instance moved on meanwhile.
        """
        unknown = set(changes) - set(_INSTANCE_FIELDS)
        if unknown or "updated_at" not in changes:
            raise ValueError(f"changes must be instance fields and include updated_at: {sorted(changes)}")
        updated = instance.model_copy(update=dict(changes))
        key_item = InstanceItem(_team_key(instance.team_id), _instance_key(instance.instance_id))
        actions = []
        for field, value in changes.items():
            attribute = getattr(InstanceItem, field)
            stored = _to_attribute_value(value)
            actions.append(attribute.remove() if stored is None else attribute.set(stored))
        expected_values = [status.value for status in expected]
        condition = InstanceItem.PK.exists() & InstanceItem.status.is_in(*expected_values)
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.update(key_item, actions=actions, condition=condition)
                for event in events:
                    transaction.save(self._event_item(event))
        except TransactWriteError as error:
            if condition_failed(error):
                raise StaleInstanceState(instance.instance_id) from error
            raise
        return updated

    def add_event(self, event: InstanceEvent) -> None:
        """An event about the instance that changes none of its fields (a snapshot finished)."""
        self._event_item(event).save()

    # Mapping -----------------------------------------------------------------------------------

    def _to_item(self, instance: Instance) -> InstanceItem:
        values = {field: _to_attribute_value(getattr(instance, field)) for field in _INSTANCE_FIELDS}
        return InstanceItem(
            _team_key(instance.team_id),
            _instance_key(instance.instance_id),
            GSI1PK=_instance_key(instance.instance_id),
            GSI1SK="INSTANCE",
            **values,
        )

    @staticmethod
    def _to_instance(item: InstanceItem) -> Instance:
        return Instance.model_validate({field: getattr(item, field) for field in _INSTANCE_FIELDS})

    def _event_item(self, event: InstanceEvent) -> InstanceEventItem:
        # The random suffix keeps two events of the same microsecond apart.
        sort_key = f"EVENT#{event.timestamp.isoformat()}#{uuid.uuid4().hex[:8]}"
        expires_at: datetime = event.timestamp + self._event_retention
        return InstanceEventItem(
            _instance_key(event.instance_id),
            sort_key,
            type=event.type.value,
            instance_id=event.instance_id,
            account_id=event.account_id,
            team_id=event.team_id,
            timestamp=event.timestamp,
            details=event.details,
            expires_at=expires_at,
        )
