"""How the API answers: JSON bodies, the error envelope, and what the OpenAPI document says of both."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from pydantic import BaseModel

from api.schemas import ErrorEnvelope, ErrorView


def json_response(
    model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump_json(),
        headers=headers,
    )


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    envelope = ErrorEnvelope(error=ErrorView(code=code, message=message, details=details or {}))
    return json_response(envelope, status_code, headers)


RATE_LIMIT_HEADERS: dict[str, OpenAPIResponseHeader] = {
    "X-RateLimit-Limit": {
        "description": "Requests allowed in the window nearest its limit (minute, or day)",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {"description": "Requests left in that window", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {
        "description": "When that window starts over, in epoch seconds",
        "schema": {"type": "integer"},
    },
}

ERROR_DESCRIPTIONS = {
    400: "Invalid request; `error.details.fields` names each bad field",
    402: "The team's balance does not pay for one hour of the machine (INSUFFICIENT_BALANCE); "
    "`error.details` says the balance and what was needed; nothing was rented or recorded",
    401: "Missing, unknown, expired or revoked credentials (UNAUTHENTICATED)",
    403: "Your role in the team does not grant the permission this needs (FORBIDDEN)",
    404: "No such resource in your team (INSTANCE_NOT_FOUND, SNAPSHOT_NOT_FOUND, API_KEY_NOT_FOUND, "
    "TEAM_NOT_FOUND, MEMBER_NOT_FOUND, ROLE_NOT_FOUND, ACCOUNT_NOT_FOUND, ACTION_NOT_FOUND)",
    409: "A conflict with the current state: INVALID_STATE, CONFLICT (e.g. a reused Idempotency-Key "
    "or an email already registered)",
    415: "The body was not sent as JSON (UNSUPPORTED_MEDIA_TYPE); send Content-Type: application/json",
    503: "Not available right now (the GPU provider could not be asked), or not set up in this deployment "
    "(SERVICE_UNAVAILABLE); nothing was changed",
    429: "Too many requests: failed logins or registrations from this account or address "
    "(TOO_MANY_ATTEMPTS), or a person's key past its plan's limit (RATE_LIMITED); nothing was carried out",
}
RETRY_AFTER_HEADER: OpenAPIResponseHeader = {
    "description": "Seconds until you may retry",
    "schema": {"type": "integer"},
}


def documented_responses(
    answer: type,
    description: str,
    status: int,
    errors: tuple[int, ...],
    *,
    metered: bool,
    media_type: str = content_types.APPLICATION_JSON,
) -> dict[int, OpenAPIResponse]:
    """The answers a route can give. Those of a route whose requests count against a plan carry the
    rate-limit headers, and such a route can also answer 429; any 429 says when to retry."""
    success: OpenAPIResponse = {"description": description, "content": {media_type: {"model": answer}}}
    responses: dict[int, OpenAPIResponse] = {status: success}
    for code in sorted(errors):
        responses[code] = {
            "description": ERROR_DESCRIPTIONS[code],
            "content": {"application/json": {"model": ErrorEnvelope}},
        }
        if code == 429:
            responses[code]["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
    if not metered:
        return responses
    for code, response in responses.items():
        if code != 401:
            response["headers"] = RATE_LIMIT_HEADERS
    responses[429] = {
        "description": "Past your plan's limit (RATE_LIMITED); nothing was carried out",
        "headers": {"Retry-After": RETRY_AFTER_HEADER, **RATE_LIMIT_HEADERS},
        "content": {"application/json": {"model": ErrorEnvelope}},
    }
    return responses
