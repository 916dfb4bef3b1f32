"""Live connections in the single table (layout in `platform.table`).

A connection is an item of the instance it watches (`LIVE#{instance}` / `CONNECTION#{id}`), so a
heartbeat finds its instance's connections with one Query; a second item (`CONNECTION#{id}` /
`CONNECTION`) names that instance, since API Gateway tells a closing connection's handler its id alone.
Both are written and deleted together, in one transaction, and expire through the TTL attribute.
"""

from __future__ import annotations

from datetime import timedelta

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from dumont_core.live.models import LiveConnection
from dumont_core.platform import table
from dumont_core.platform.dynamodb import (
    TableItem,
    condition_failed,
    get_item,
    item_type,
    shared_connection,
    to_model,
)

ConnectionItem = item_type(LiveConnection, expires_at=TTLAttribute())


class ConnectionInstanceItem(TableItem):
    instance_id = UnicodeAttribute()
    expires_at = TTLAttribute()


def _keys(instance_id: str, connection_id: str) -> tuple[str, str]:
    return table.live_key(instance_id), table.connection_key(connection_id)


class ConnectionRepository:
    def __init__(self, *, lifetime: timedelta) -> None:
        self._lifetime = lifetime
        """How long a connection is kept at most: API Gateway closes one after two hours."""

    def add(self, connection: LiveConnection) -> bool:
        """Keep the connection; False when one of that id is already kept."""
        expires = connection.connected_at + self._lifetime
        item = ConnectionItem(
            *_keys(connection.instance_id, connection.connection_id),
            expires_at=expires,
            **connection.model_dump(),
        )
        pointer = ConnectionInstanceItem(
            table.connection_key(connection.connection_id),
            table.CONNECTION_RECORD,
            instance_id=connection.instance_id,
            expires_at=expires,
        )
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.save(item, condition=ConnectionItem.PK.does_not_exist())
                transaction.save(pointer, condition=ConnectionInstanceItem.PK.does_not_exist())
        except TransactWriteError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def watching(self, instance_id: str) -> list[LiveConnection]:
        """The connections watching the instance: one Query."""
        items = ConnectionItem.query(
            table.live_key(instance_id), ConnectionItem.SK.startswith(table.CONNECTION_PREFIX)
        )
        return [to_model(LiveConnection, item) for item in items]

    def instance_of(self, connection_id: str) -> str | None:
        pointer = get_item(
            ConnectionInstanceItem, table.connection_key(connection_id), table.CONNECTION_RECORD
        )
        return None if pointer is None else str(pointer.instance_id)

    def remove(self, instance_id: str, connection_id: str) -> bool:
        """Forget the connection; False when it was already forgotten."""
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.delete(
                    ConnectionItem(*_keys(instance_id, connection_id)), condition=ConnectionItem.PK.exists()
                )
                transaction.delete(
                    ConnectionInstanceItem(table.connection_key(connection_id), table.CONNECTION_RECORD)
                )
        except TransactWriteError as error:
            if condition_failed(error):
                return False
            raise
        return True
