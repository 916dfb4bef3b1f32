"""moto's DynamoDB Query reads the one partition it names, as DynamoDB does.

moto 5's `Table.query` on the table's own keys takes its candidates from `Table.all_items()`, which sorts
every item of the table by its keys, for every query: a query costs the whole table's size, sorted. The
local stack keeps one table that grows with every price point, ledger line, rollup and event, so every
request of `make run` and of the end-to-end tests slowed as it filled, until the local stack's threads
spent both cores sorting items. A query on the table's keys needs only its partition, which moto keeps
apart already (`Table.items[hash_key]`): while such a query runs, `all_items` answers that partition
alone, and moto sorts, pages and filters it as it did the whole table. Queries on an index and scans are
unchanged.

Recheck on every moto upgrade: `test_moto_queries` holds a query's answers to moto's own.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.dynamodb.models import DynamoType
from moto.dynamodb.models.table import Table

_partition = threading.local()
"""The table and hash key of the query this thread is running (`_ANY_PARTITION` for one on an index)."""
_ANY_PARTITION = object()


def read_one_partition_per_query() -> None:
    if getattr(Table.query, "_one_partition", False):
        return
    query_the_table = Table.query
    every_item = Table.all_items

    def query(self: Table, hash_key: DynamoType | None, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs["index_name"] if "index_name" in kwargs else args[6] if len(args) > 6 else None
        if not self.range_key_attr or (index_name is None and hash_key is None):
            return query_the_table(self, hash_key, *args, **kwargs)
        _partition.table, _partition.key = self, _ANY_PARTITION if index_name is not None else hash_key
        try:
            return query_the_table(self, hash_key, *args, **kwargs)
        finally:
            _partition.table = _partition.key = None

    def all_items(self: Table) -> Any:
        if getattr(_partition, "table", None) is not self:
            return every_item(self)
        if _partition.key is _ANY_PARTITION:
            return [item for partition in self.items.values() for item in partition.values()]
        # `.get`: `items` is a defaultdict, which would keep an empty partition for every key asked.
        return list(self.items.get(_partition.key, {}).values())

    query._one_partition = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
