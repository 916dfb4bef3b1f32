"""Live connections in the single table (layout in `platform.table`).

A connection's item (`CONNECTION#{id}` / `CONNECTION`) names the instance and team it watches: API
Gateway tells a closing connection's handler its id alone. Which connections watch an instance is kept
on the instance itself (`instances.watchers`), where its heartbeats find them. The item expires through
the TTL attribute.
"""

from __future__ import annotations

from datetime import timedelta

from pynamodb.attributes import TTLAttribute
from pynamodb.exceptions import DeleteError, PutError

from dumont_core.live.models import LiveConnection
from dumont_core.platform import table
from dumont_core.platform.dynamodb import get_item, item_type, to_model, write_refused

ConnectionItem = item_type(LiveConnection, expires_at=TTLAttribute())


class ConnectionRepository:
    def __init__(self, *, lifetime: timedelta) -> None:
        self._lifetime = lifetime
        """How long a connection is kept at most: API Gateway closes one after two hours."""

    def add(self, connection: LiveConnection) -> bool:
        """Keep the connection; False when one of that id is already kept."""
        item = ConnectionItem(
            table.connection_key(connection.connection_id),
            table.CONNECTION_RECORD,
            expires_at=connection.connected_at + self._lifetime,
            **connection.model_dump(),
        )
        try:
            item.save(condition=ConnectionItem.PK.does_not_exist())
        except PutError as error:
            if write_refused(error):
                return False
            raise
        return True

    def find(self, connection_id: str) -> LiveConnection | None:
        item = get_item(ConnectionItem, table.connection_key(connection_id), table.CONNECTION_RECORD)
        return None if item is None else to_model(LiveConnection, item)

    def remove(self, connection_id: str) -> bool:
        """Forget the connection; False when it was already forgotten."""
        try:
            ConnectionItem(table.connection_key(connection_id), table.CONNECTION_RECORD).delete(
                condition=ConnectionItem.PK.exists()
            )
        except DeleteError as error:
            if write_refused(error):
                return False
            raise
        return True
