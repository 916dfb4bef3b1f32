"""Two fixes that keep the embedded AWS's memory flat however long the local stack runs.

Both are moto's, not ours, and are measured by `make bench`'s soak and a test of their own:

- **Every model object moto ever made stays alive.** moto's `BaseModel.__new__` appends each new
  object to a list on its class (`instances_tracked`), which feeds moto's web dashboard and nothing
  the local stack uses. DynamoDB items are such objects, so every item ever written, every earlier
  version of an updated item and every throwaway copy was kept for good. The objects are no longer
  listed; they live as long as something uses them.
- **Every transaction copied whole tables.** moto's `transact_write_items` deep-copies each table a
  transaction names, once per item it writes, to roll back a cancelled transaction. A heartbeat is one
  transaction of three items, and its table grows by a sample each time, so each heartbeat cost three
  copies of the whole table: time that grew with the table, and (with the above) memory that did too.
  Here a transaction instead keeps a copy of the few items it names, and a cancelled one puts those
  back; a transaction can change nothing else, so that is the same rollback.

Recheck both on every moto upgrade (docs/decisions.md says what the fixes upstream would be).

A third thing is no fix but what AWS does and moto does not: DynamoDB deletes an item some time after
the time in its TTL attribute has passed. `delete_expired` does it for the local table, run on a
schedule by the local stack, so samples, events and leases leave as they would on AWS.
"""

from __future__ import annotations

import copy
import threading
from types import SimpleNamespace
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.core.common_models import BaseModel
from moto.core.model_instances import reset_model_data
from moto.dynamodb.models import DynamoDBBackend, DynamoType, Item
from moto.dynamodb.models.table import Table

_journaling = threading.local()
"""Set while this thread runs a transaction whose items are kept by `_Journal` instead."""


def keep_memory_flat() -> None:
    """Install both fixes (once; installing again changes nothing)."""
    _stop_listing_model_objects()
    _roll_back_transactions_item_by_item()


def _stop_listing_model_objects() -> None:
    if getattr(BaseModel.__new__, "_unlisted", False):
        return

    def new(cls: type[BaseModel], *args: Any, **kwargs: Any) -> BaseModel:
        instance: BaseModel = super(BaseModel, cls).__new__(cls)
        return instance

    new._unlisted = True  # type: ignore[attr-defined]
    BaseModel.__new__ = new  # type: ignore[method-assign]
    # What was listed before goes too.
    reset_model_data()


class _Journal:
    """The items a transaction names, as they were before it: what rolling it back puts back."""

    def __init__(self, backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        self._before: list[tuple[Table, dict[str, Any], Item | None]] = []
        for entry in transact_items:
            for operation, request in entry.items():
                before = self._item_before(backend, operation, request)
                if before is not None:
                    self._before.append(before)

    @staticmethod
    def _item_before(
        backend: DynamoDBBackend, operation: str, request: Any
    ) -> tuple[Table, dict[str, Any], Item | None] | None:
        """The table, key and a copy of the item an operation names; None if it names no item, which
        moto then refuses, as it would have without the journal."""
        try:
            table = backend.get_table(request["TableName"])
            if operation == "Put":
                names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
                key = {name: request["Item"][name] for name in names}
            else:
                key = dict(request["Key"])
            return table, key, copy.deepcopy(backend.get_item(table.name, key))
        except Exception:
            return None

    def roll_back(self) -> None:
        for table, item_key, before in reversed(self._before):
            hash_key = DynamoType(item_key[table.hash_key_attr])
            range_key = DynamoType(item_key[table.range_key_attr]) if table.range_key_attr else None
            if before is None:
                table.delete_item(hash_key, range_key)
            else:
                table.put_item(before.to_json()["Attributes"], overwrite=True)


def _deepcopy(value: Any, memo: Any = None) -> Any:
    """`copy.deepcopy` as moto's DynamoDB backend sees it: within a journaled transaction, the copy
    it takes of a whole table for its rollback is the table itself, which its rollback then puts back
    in its own place (changing nothing); the journal has done the rollback by then."""
    if isinstance(value, Table) and getattr(_journaling, "active", False):
        return value
    return copy.deepcopy(value, memo)


def _roll_back_transactions_item_by_item() -> None:
    if getattr(DynamoDBBackend.transact_write_items, "_journaled", False):
        return
    copying_tables = DynamoDBBackend.transact_write_items
    dynamodb_models.copy = SimpleNamespace(deepcopy=_deepcopy)  # type: ignore[assignment]

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        journal = _Journal(self, transact_items)
        _journaling.active = True
        try:
            copying_tables(self, transact_items)
        except BaseException:
            journal.roll_back()
            raise
        finally:
            _journaling.active = False

    transact_write_items._journaled = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def delete_expired(table: Table, ttl_attribute: str, now: float, lock: threading.Lock) -> int:
    """Delete the items of `table` (one with a sort key) whose `ttl_attribute`, epoch seconds as DynamoDB
    reads it, is `now` or earlier; how many went. Holds `lock`, which serves moto's requests one at a time,
    so no request sees the table halfway through."""
    deleted = 0
    with lock:
        for hash_key, items in list(table.items.items()):
            for range_key, item in list(items.items()):
                expires = item.attrs.get(ttl_attribute)
                if expires is not None and expires.type == "N" and float(expires.value) <= now:
                    table.delete_item(hash_key, range_key)
                    deleted += 1
    return deleted
