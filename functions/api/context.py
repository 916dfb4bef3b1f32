"""What every route needs: who is calling, the service, and how to answer."""

from __future__ import annotations

from functools import cache
from typing import cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel

from api.schemas import ErrorEnvelope
from dumont_core.access.context import principal_from_context
from dumont_core.data.instances import InstanceRepository
from dumont_core.errors import Forbidden, Unauthenticated
from dumont_core.events import EventBridgePublisher
from dumont_core.models import Principal
from dumont_core.services.instances import InstanceService
from dumont_core.services.serverless_factory import serverless_repository
from dumont_core.settings import get_settings
from dumont_core.workflows import StepFunctionsStarter


@cache
def instance_service() -> InstanceService:
    settings = get_settings()
    return InstanceService(
        InstanceRepository.from_settings(settings),
        EventBridgePublisher.from_settings(settings),
        StepFunctionsStarter(None, settings),
        settings,
        watches=serverless_repository(settings),
    )


def authorize(router: BaseRouter, permission: str) -> Principal:
    """The caller, as the REQUEST authorizer identified them, if their role grants `permission`."""
    event = cast(APIGatewayProxyEvent, router.current_event)
    principal = principal_from_context(event.request_context.authorizer.raw_event)
    if principal is None:
        raise Unauthenticated("Send an access token or API key")
    if not principal.may(permission):
        raise Forbidden(
            f"Your role {principal.role} in this team does not allow this (needs {permission})",
            details={"permission": permission, "role": principal.role},
        )
    return principal


def json_response(model: BaseModel, status_code: int = 200) -> Response[str]:
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump_json(),
    )


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


def error_responses(*codes: int, public: bool = False) -> dict[int, OpenAPIResponse]:
    """The error answers a route can give. Those of a route that takes credentials carry the rate-limit
    headers, and such a route can also answer 429."""
    described = {
        400: "Invalid request; `error.details.fields` names each bad field",
        401: "Missing, unknown, expired or revoked credentials (UNAUTHENTICATED)",
        403: "Your role in the team does not grant the permission this needs (FORBIDDEN)",
        404: "No such resource in your team (INSTANCE_NOT_FOUND, API_KEY_NOT_FOUND, TEAM_NOT_FOUND, "
        "MEMBER_NOT_FOUND, ROLE_NOT_FOUND, ACCOUNT_NOT_FOUND)",
        409: "A conflict with the current state: INVALID_STATE, CONFLICT (e.g. a reused Idempotency-Key "
        "or an email already registered)",
    }
    responses: dict[int, OpenAPIResponse] = {
        code: {
            "description": described[code],
            "content": {"application/json": {"model": ErrorEnvelope}},
        }
        for code in codes
    }
    if public:
        return responses
    for code in codes:
        if code != 401:
            responses[code]["headers"] = RATE_LIMIT_HEADERS
    responses[429] = {
        "description": "Past your plan's limit (RATE_LIMITED); nothing was carried out",
        "headers": {
            "Retry-After": {"description": "Seconds until you may retry", "schema": {"type": "integer"}},
            **RATE_LIMIT_HEADERS,
        },
        "content": {"application/json": {"model": ErrorEnvelope}},
    }
    return responses


def ok_response(
    model: type, description: str, code: int = 200, *, public: bool = False
) -> dict[int, OpenAPIResponse]:
    """A success answer; those of routes that take credentials carry the rate-limit headers."""
    response: OpenAPIResponse = {
        "description": description,
        "content": {"application/json": {"model": model}},
    }
    if not public:
        response["headers"] = RATE_LIMIT_HEADERS
    return {code: response}
