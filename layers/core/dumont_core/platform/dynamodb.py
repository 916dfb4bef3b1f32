"""The single table as the repositories use it: pynamodb's base item, the shared connection, and how a
refused condition is recognised.

pynamodb binds an item class to its table through a class attribute. The table is bound here, once, by
the composition root (`bind_table`); a process works with one table, and no repository touches it.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from types import NoneType, UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from botocore.exceptions import ClientError
from pydantic import BaseModel
from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection, TableConnection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model

from dumont_core.platform.aws import aws_session, configured_endpoint, creating_clients

CONDITION_REFUSED = "ConditionalCheckFailedException"


class TableItem(Model):
    """Base of every item type in the single table (layout in `platform.table`)."""

    class Meta:
        table_name = "unbound"

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)

    @classmethod
    def _get_connection(cls) -> TableConnection:
        # pynamodb gives every item type a connection, and so a botocore client, of its own; making a
        # client is most of a cold start's first request, so they all share one. (The connections stay
        # apart: each knows its own item type's indexes.)
        connection = super()._get_connection()
        connection.connection._client = shared_connection().client
        return connection


class IndexedItem(TableItem):
    """An item also found through GSI1."""

    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()


ItemT = TypeVar("ItemT", bound=TableItem)
ModelT = TypeVar("ModelT", bound=BaseModel)


class ModelAttribute(JSONAttribute):
    """A nested model (or a list of them), stored as JSON; read back as what the outer model validates."""

    def serialize(self, value: Any) -> str | None:
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        elif isinstance(value, list):
            value = [each.model_dump(mode="json") if isinstance(each, BaseModel) else each for each in value]
        return super().serialize(value)


_ATTRIBUTES: dict[Any, type[Attribute[Any]]] = {
    bool: BooleanAttribute,
    int: NumberAttribute,
    float: NumberAttribute,
    datetime: UTCDateTimeAttribute,
    dict: JSONAttribute,
    list: ListAttribute,
}


def _attribute_for(annotation: Any) -> Attribute[Any]:
    """The attribute that stores a field: strings, literals and string enums as strings, numbers as
    numbers, times in UTC, mappings and nested models as JSON, lists as lists; optional fields may be
    absent."""
    null = False
    if get_origin(annotation) in (Union, UnionType) and NoneType in get_args(annotation):
        null = True
        annotation = next(arg for arg in get_args(annotation) if arg is not NoneType)
    origin = get_origin(annotation) or annotation
    if origin is Literal or (isinstance(origin, type) and issubclass(origin, str)):
        return UnicodeAttribute(null=null)
    if isinstance(origin, type) and issubclass(origin, BaseModel):
        return ModelAttribute(null=null)
    if origin is list and any(
        isinstance(arg, type) and issubclass(arg, BaseModel) for arg in get_args(annotation)
    ):
        return ModelAttribute(null=null)
    return _ATTRIBUTES[origin](null=null)


def item_type(model: type[ModelT], *, base: type[TableItem] = TableItem, **attributes: Any) -> Any:
    """The item type that stores `model` in the table: one attribute per field, so the two cannot drift
    apart. `attributes` adds what only the table holds (expiry, index keys) and overrides a field's
    attribute where the table needs another (a map updated in place)."""
    fields = {name: _attribute_for(field.annotation) for name, field in model.model_fields.items()}
    return type(f"{model.__name__}Item", (base,), {"__module__": model.__module__, **fields, **attributes})


def to_model(model: type[ModelT], item: TableItem, **known: Any) -> ModelT:
    """The model an item holds, field by field; `known` fills fields that items written before the field
    existed lack."""
    values = {field: _plain(getattr(item, field)) for field in model.model_fields}
    return model.model_validate(
        {**values, **{name: value for name, value in known.items() if values[name] is None}}
    )


def _plain(value: Any) -> Any:
    return value.as_dict() if hasattr(value, "as_dict") else value


def bind_table(table_name: str) -> None:
    """Point every item type at `table_name`: they share `TableItem.Meta`, and pynamodb makes an item
    type's connection again when the table it names changes. (Wherever AWS is now, the local stack and
    the tests start it more than once in a process, is `TableItem._get_connection`'s part.)"""
    TableItem.Meta.table_name = table_name


def bound_table() -> str:
    return str(TableItem.Meta.table_name)


def shared_connection() -> Connection:
    """One connection (one botocore client) per process and AWS endpoint, reused by every transaction."""
    return _connection_for(configured_endpoint())


class _SessionSharingConnection(Connection):
    """pynamodb makes a botocore session per connection and thread; the process's one serves instead."""

    def __init__(self, endpoint: str | None) -> None:
        super().__init__()
        self._endpoint = endpoint

    @property
    def session(self) -> Any:
        return aws_session(self._endpoint)


@cache
def _connection_for(endpoint: str | None) -> Connection:
    connection = _SessionSharingConnection(endpoint)
    with creating_clients():
        connection.client  # noqa: B018 - made now, under the lock that serialises client creation
    return connection


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
