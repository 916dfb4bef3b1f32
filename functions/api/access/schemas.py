"""Requests and answers of the account, login and API key routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field

from api.schemas import EmailToLookUp, NewEmail, RequestBody, View


class CredentialsRequest(RequestBody):
    email: NewEmail
    password: str = Field(min_length=8, max_length=256)


class LoginRequest(RequestBody):
    email: EmailToLookUp
    password: str = Field(
        description="Any length: a password that cannot be right gets the same 401 as any other wrong one."
    )
    team_id: str | None = Field(
        default=None,
        max_length=64,
        description="The team the token acts in; your own team when left out.",
        examples=["team_3f9c2d41a8b7e605"],
    )


class RegisteredAccountView(View):
    """The new account and its own team."""

    account_id: str
    team_id: str
    email: str
    plan: str


class AccessTokenView(View):
    """A bearer token for the `Authorization` header."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class NewApiKeyRequest(RequestBody):
    name: str = Field(min_length=1, max_length=64, description="What the key is for, e.g. `ci`.")


class ApiKeyView(View):
    """An API key, as listings show it: never the key itself."""

    id: str = Field(validation_alias=AliasChoices("id", "key_id"))
    name: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedApiKeyView(ApiKeyView):
    """The new key, shown this once."""

    key: str = Field(description="The whole key. It is shown this once and never again.")
