"""The shapes every route shares: the success and error envelopes, pages, and path parameters.

Naming: a request body is a `…Request` (a `RequestBody`); anything answered, or part of an answer, is a
`…View`; the envelopes wrap views. Routes answer domain models through views validated from their
attributes (`View.model_validate(model)`), never by copying fields one by one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

DataT = TypeVar("DataT")


class View(BaseModel):
    """Something the API answers. Built from a domain model's attributes of the same names."""

    model_config = ConfigDict(from_attributes=True, defer_build=True)


class RequestBody(BaseModel):
    """A request body: unknown fields are refused, so a misspelt field is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class PageView(View):
    page: int
    per_page: int
    total: int


class Envelope(View, Generic[DataT]):
    success: Literal[True] = True
    data: DataT


class ListEnvelope(View, Generic[DataT]):
    success: Literal[True] = True
    data: list[DataT]
    meta: PageView


class ErrorView(View):
    code: str = Field(examples=["INSTANCE_NOT_FOUND"])
    message: str
    details: dict[str, Any] = {}


class ErrorEnvelope(View):
    success: Literal[False] = False
    error: ErrorView


InstanceId = Annotated[str, Path(description="Instance id, e.g. inst_3f9c…", max_length=64)]
SnapshotId = Annotated[str, Path(description="Snapshot id, e.g. snap_9a1b…", max_length=64)]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
LOG_TIMES = f"between {EPOCH:%Y-%m-%dT%H:%M:%SZ} and {LAST_TIME:%Y-%m-%dT%H:%M:%SZ}"
"""The times a log line can carry: CloudWatch counts them in milliseconds from 1970 on."""


def is_log_time(moment: datetime) -> bool:
    """Whether `moment` (UTC when it names no zone) is a time CloudWatch Logs can keep or be asked from."""
    return EPOCH <= (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) <= LAST_TIME


def _log_time(moment: datetime) -> datetime:
    if not is_log_time(moment):
        raise ValueError(f"must be {LOG_TIMES}")
    return moment


LogTime = Annotated[datetime, AfterValidator(_log_time)]
