"""Accounts, login and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from api.context import authorize, error_responses, json_response, ok_response
from api.schemas import Envelope
from dumont_core.access.factory import access_service
from dumont_core.access.service import ApiKeyView

router = APIGatewayRouter()

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, pattern=EMAIL_PATTERN, examples=["user@example.com"])
    password: str = Field(min_length=8, max_length=256)


class LoginBody(Credentials):
    team_id: str | None = Field(
        default=None,
        max_length=64,
        description="The team the token acts in; your own team when left out.",
        examples=["team_3f9c2d41a8b7e605"],
    )


class RegisteredAccount(BaseModel):
    account_id: str
    team_id: str
    email: str
    plan: str


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class NewApiKeyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, description="What the key is for, e.g. `ci`.")


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedApiKey(ApiKeyOut):
    key: str = Field(description="The whole key. It is shown this once and never again.")


def _key_out(view: ApiKeyView) -> ApiKeyOut:
    return ApiKeyOut(
        id=view.key_id,
        name=view.name,
        prefix=view.prefix,
        created_at=view.created_at,
        last_used_at=view.last_used_at,
        revoked_at=view.revoked_at,
    )


@router.post(
    "/api/v1/auth/register",
    summary="Create an account",
    responses={
        **ok_response(Envelope[RegisteredAccount], "The new account", 201, public=True),
        **error_responses(400, 409, public=True),
    },
    tags=["Access"],
)
def register(body: Annotated[Credentials, Body(embed=False)]) -> Response[str]:
    account = access_service().register(body.email, body.password)
    registered = RegisteredAccount(
        account_id=account.account_id, team_id=account.team_id, email=account.email, plan=account.plan
    )
    return json_response(Envelope[RegisteredAccount](data=registered), 201)


def _login(body: LoginBody) -> Response[str]:
    issued = access_service().login(body.email, body.password, body.team_id)
    return json_response(AccessToken(access_token=issued.access_token, expires_in=issued.expires_in))


@router.post(
    "/api/v1/auth/login",
    summary="Log in",
    description="Answers a bearer token for the `Authorization` header, acting in your own team or in "
    "`team_id`. A wrong password and an unknown email get the same 401.",
    responses={
        **ok_response(AccessToken, "An access token", public=True),
        **error_responses(400, 401, 404, public=True),
    },
    tags=["Access"],
)
def login(body: Annotated[LoginBody, Body(embed=False)]) -> Response[str]:
    return _login(body)


@router.post(
    "/api/auth/login",
    summary="Log in (unversioned)",
    responses={
        **ok_response(AccessToken, "An access token", public=True),
        **error_responses(400, 401, 404, public=True),
    },
    tags=["Unversioned"],
)
def legacy_login(body: Annotated[LoginBody, Body(embed=False)]) -> Response[str]:
    return _login(body)


@router.post(
    "/api/v1/api-keys",
    summary="Create an API key",
    description="The whole key is in this answer only; we keep just a digest of it. The key acts in "
    "the team your credential acts in, with your role there (whatever it is when the key is used).",
    responses={
        **ok_response(Envelope[CreatedApiKey], "The new key", 201),
        **error_responses(400, 401, 403, 409),
    },
    tags=["Access"],
)
def create_api_key(body: Annotated[NewApiKeyBody, Body(embed=False)]) -> Response[str]:
    created = access_service().create_api_key(authorize(router, "api_keys.manage"), body.name)
    out = CreatedApiKey(**_key_out(created.view).model_dump(), key=created.key)
    return json_response(Envelope[CreatedApiKey](data=out), 201)


@router.get(
    "/api/v1/api-keys",
    summary="List API keys",
    responses={
        **ok_response(Envelope[list[ApiKeyOut]], "Your keys in this team, oldest first"),
        **error_responses(401, 403),
    },
    tags=["Access"],
)
def list_api_keys() -> Response[str]:
    keys = access_service().list_api_keys(authorize(router, "api_keys.manage"))
    return json_response(Envelope[list[ApiKeyOut]](data=[_key_out(view) for view in keys]))


@router.delete(
    "/api/v1/api-keys/<key_id>",
    summary="Revoke an API key",
    description="The key stops working at once.",
    responses={**ok_response(Envelope[ApiKeyOut], "The revoked key"), **error_responses(401, 403, 404)},
    tags=["Access"],
)
def revoke_api_key(key_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    revoked = access_service().revoke_api_key(authorize(router, "api_keys.manage"), key_id)
    return json_response(Envelope[ApiKeyOut](data=_key_out(revoked)))
