"""Safe retries of `POST` requests that carry an `Idempotency-Key` header.

A retried create with the same key and body answers what the first one answered, without renting
a second machine; the same key with a different body is refused. Records live in the single
table under their own partition and expire through the table's TTL after a day.

Powertools' idempotency utility brings boto3 along; it is loaded by the first request that carries a
key, so no other request pays for it at cold start.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from pydantic import BaseModel

from dumont_core.platform.errors import Conflict, ValidationFailed
from dumont_core.platform.settings import TableSettings, load_settings
from dumont_core.platform.table import IDEMPOTENCY_PARTITION, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
RETENTION_SECONDS = 24 * 3600


@cache
def _persistence() -> DynamoDBPersistenceLayer:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=load_settings(TableSettings).table_name,
        key_attr=PARTITION_KEY,
        sort_key_attr=SORT_KEY,
        static_pk_value=IDEMPOTENCY_PARTITION,
        expiry_attr=TTL_ATTRIBUTE,
    )


@cache
def _config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="[team_id, route, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=RETENTION_SECONDS,
        raise_on_no_idempotency_key=True,
    )


def _validated_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            f"{IDEMPOTENCY_HEADER} must be 1 to {MAX_KEY_LENGTH} characters",
            details={"fields": [{"field": IDEMPOTENCY_HEADER, "message": "1 to 255 characters"}]},
        )
    return key


def idempotency_key() -> str | None:
    """The request's `Idempotency-Key` header, checked; None without one."""
    return _validated_key(BaseRouter.current_event.headers.get(IDEMPOTENCY_HEADER))


def once(team_id: str, route: str, body: BaseModel, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`action()`'s answer; with an `Idempotency-Key` header, the stored answer of the first request of
    the team's to this route that sent the key (with the same body)."""
    key = _validated_key(BaseRouter.current_event.headers.get(IDEMPOTENCY_HEADER))
    if key is None:
        return action()
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = _config()
    # An in-progress record then expires with the invocation if the function times out.
    config.register_lambda_context(BaseRouter.lambda_context)

    @idempotent_function(data_keyword_argument="request", config=config, persistence_store=_persistence())
    def once(request: dict[str, Any]) -> dict[str, Any]:
        return action()

    try:
        request = {"team_id": team_id, "route": route, "key": key, "body": body.model_dump(mode="json")}
        result: dict[str, Any] = once(request=request)
    except IdempotencyValidationError:
        raise Conflict(
            f"This {IDEMPOTENCY_HEADER} was already used with a different request body",
            details={"idempotency_key": key},
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(
            f"A request with this {IDEMPOTENCY_HEADER} is still being processed; retry shortly",
            details={"idempotency_key": key},
        ) from None
    return result
