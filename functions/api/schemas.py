"""The shapes every route shares: the success and error envelopes, pages, and path parameters.

Naming: a request body is a `…Request` (a `RequestBody`); anything answered, or part of an answer, is a
`…View`; the envelopes wrap views. Routes answer domain models through views validated from their
attributes (`View.model_validate(model)`), never by copying fields one by one.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

DataT = TypeVar("DataT")


class View(BaseModel):
    """Something the API answers. Built from a domain model's attributes of the same names."""

    model_config = ConfigDict(from_attributes=True, defer_build=True)


class RequestBody(BaseModel):
    """A request body: unknown fields are refused, so a misspelt field is an error, not a silent no-op;
    and values are taken as the JSON type the field declares, never converted (strict): `"100"` is not a
    disk size and `0` is not `false`. Enums and times, which JSON can only spell as strings, are read
    from their strings (`Field(strict=False)` on such a field)."""

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


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
_EMAIL_SHAPE = re.compile(EMAIL_PATTERN)
MAX_EMAIL_LENGTH = 254


def _without_control_characters(value: str) -> str:
    """NUL, other control and format characters, and lone surrogates have no place in an address."""
    for character in value:
        if unicodedata.category(character).startswith("C"):
            raise ValueError(f"an email address cannot contain the character U+{ord(character):04X}")
    return unicodedata.normalize("NFC", value)


def _email_to_look_up(value: str) -> str:
    """An email that names an account: no control characters, and the shape `someone@domain.tld`.
    Laxer than registration, so an account registered under older rules is still found."""
    value = _without_control_characters(value)
    if not _EMAIL_SHAPE.match(value):
        raise ValueError("enter an email address such as someone@example.com")
    return value


def _new_email(value: str) -> str:
    """An email to register: a real address (email-validator's syntax rules, no DNS look-up), in its
    normalized form (the domain in lower case, Unicode composed)."""
    # Imported on first use: only registration pays for it.
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(_without_control_characters(value), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None


EmailToLookUp = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH, examples=["user@example.com"], json_schema_extra={"format": "email"}),
    AfterValidator(_email_to_look_up),
]
"""An account's email, as login and adding a member take it."""
NewEmail = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH, examples=["user@example.com"], json_schema_extra={"format": "email"}),
    AfterValidator(_new_email),
]
"""The email of a new account."""

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
