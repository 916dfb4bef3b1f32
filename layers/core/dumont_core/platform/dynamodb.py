"""The single table as the repositories use it: pynamodb's base item, the shared connection, and how a
refused condition is recognised.

pynamodb binds an item class to its table through a class attribute. The table is bound here, once, by
the composition root (`bind_table`); a process works with one table, and no repository touches it.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model

from dumont_core.platform.aws import configured_endpoint

CONDITION_REFUSED = "ConditionalCheckFailedException"


class TableItem(Model):
    """Base of every item type in the single table (layout in `platform.table`)."""

    class Meta:
        table_name = "unbound"

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)


class IndexedItem(TableItem):
    """An item also found through GSI1."""

    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()


ItemT = TypeVar("ItemT", bound=TableItem)


def bind_table(table_name: str) -> None:
    """Point every item type at `table_name`."""
    TableItem.Meta.table_name = table_name


def bound_table() -> str:
    return str(TableItem.Meta.table_name)


def shared_connection() -> Connection:
    """One connection (one botocore client) per process and AWS endpoint, reused by every transaction."""
    return _connection_for(configured_endpoint())


@cache
def _connection_for(endpoint: str | None) -> Connection:
    return Connection()


def get_item(item_type: type[ItemT], partition: str, sort: str, *, consistent: bool = False) -> ItemT | None:
    try:
        return item_type.get(partition, sort, consistent_read=consistent)
    except DoesNotExist:
        return None


def condition_failed(error: TransactWriteError) -> bool:
    """Whether a transaction was refused because one of its conditions did not hold."""
    return any(
        reason is not None and reason.code == "ConditionalCheckFailed"
        for reason in error.cancellation_reasons
    )


def write_refused(error: Exception) -> bool:
    """Whether a single write (pynamodb's or botocore's) was refused because its condition did not hold."""
    if isinstance(error, ClientError):
        return bool(error.response.get("Error", {}).get("Code") == CONDITION_REFUSED)
    return getattr(error, "cause_response_code", None) == CONDITION_REFUSED


def stored_value(value: Any) -> Any:
    """What an attribute stores for `value`: enums by their value (pynamodb does not know StrEnum)."""
    return value.value if hasattr(value, "value") else value
