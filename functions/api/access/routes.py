"""Accounts and logging in (`/api/v1/auth/…`, `/api/auth/login`) and API keys (`/api/v1/api-keys…`)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from api.access.schemas import (
    AccessTokenView,
    ApiKeyView,
    CreatedApiKeyView,
    CredentialsRequest,
    LoginRequest,
    NewApiKeyRequest,
    RegisteredAccountView,
)
from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import Envelope
from dumont_core import composition

routes = DomainRoutes(tag="Access")


@routes.operation(
    "POST", "/api/v1/auth/register", Envelope[RegisteredAccountView], None, status=201, errors=(400, 409, 429)
)
def register(body: Annotated[CredentialsRequest, Body(embed=False)]) -> Response[str]:
    """Create an account"""
    account = composition.access().register(body.email, body.password)
    return json_response(
        Envelope[RegisteredAccountView](data=RegisteredAccountView.model_validate(account)), 201
    )


def _login(body: LoginRequest) -> Response[str]:
    issued = composition.access().login(body.email, body.password, body.team_id)
    return json_response(AccessTokenView.model_validate(issued))


def _login_operation(path: str, **more: Any) -> Any:
    return routes.operation("POST", path, AccessTokenView, None, errors=(400, 401, 404, 429), **more)


@_login_operation("/api/v1/auth/login")
def login(body: Annotated[LoginRequest, Body(embed=False)]) -> Response[str]:
    """Log in

    Answers a bearer token for the `Authorization` header, acting in your own team or in `team_id`. A
    wrong password and an unknown email get the same 401.
    """
    return _login(body)


@_login_operation("/api/auth/login", tag="Unversioned")
def login_unversioned(body: Annotated[LoginRequest, Body(embed=False)]) -> Response[str]:
    """Log in (unversioned)"""
    return _login(body)


@routes.operation(
    "POST", "/api/v1/api-keys", Envelope[CreatedApiKeyView], "api_keys.manage", status=201, errors=(400, 409)
)
def create_api_key(caller: Caller, body: Annotated[NewApiKeyRequest, Body(embed=False)]) -> Response[str]:
    """Create an API key

    The whole key is in this answer only; we keep just a digest of it. The key acts in the team your
    credential acts in, with your role there (whatever it is when the key is used)."""
    created = composition.access().create_api_key(caller, body.name)
    view = CreatedApiKeyView.model_validate({**created.view.model_dump(), "key": created.key})
    return json_response(Envelope[CreatedApiKeyView](data=view), 201)


@routes.operation("GET", "/api/v1/api-keys", Envelope[list[ApiKeyView]], "api_keys.manage")
def list_api_keys(caller: Caller) -> Response[str]:
    """List API keys"""
    keys = composition.access().list_api_keys(caller)
    return json_response(Envelope[list[ApiKeyView]].model_validate({"data": keys}))


@routes.operation(
    "DELETE", "/api/v1/api-keys/{key_id}", Envelope[ApiKeyView], "api_keys.manage", errors=(404,)
)
def revoke_api_key(caller: Caller, key_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    """Revoke an API key

    The key stops working at once."""
    revoked = composition.access().revoke_api_key(caller, key_id)
    return json_response(Envelope[ApiKeyView](data=ApiKeyView.model_validate(revoked)))
