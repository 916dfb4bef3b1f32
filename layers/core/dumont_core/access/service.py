"""Registering, logging in, API keys, and turning a request's credentials into a principal."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dumont_core.access.credentials import (
    api_key_digest,
    hash_password,
    looks_like_api_key,
    new_api_key,
    password_matches,
    visible_prefix,
)
from dumont_core.access.repository import AccessRepository, AccountItem, ApiKeyItem, EmailTaken
from dumont_core.access.tokens import IssuedToken, TokenSigner
from dumont_core.errors import Conflict, DumontError, Unauthenticated
from dumont_core.models import Principal, utc_now

DEFAULT_PLAN = "free"
OWNER_ROLE = "admin"


class ApiKeyNotFound(DumontError):
    code = "API_KEY_NOT_FOUND"
    http_status = 404

    def __init__(self, key_id: str) -> None:
        super().__init__(f"API key {key_id} not found", details={"key_id": key_id})


@dataclass(frozen=True)
class Account:
    account_id: str
    team_id: str
    email: str
    plan: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyView:
    key_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewApiKey:
    key: str
    """The whole key; shown once, never stored."""
    view: ApiKeyView


def _view(item: ApiKeyItem) -> ApiKeyView:
    return ApiKeyView(
        key_id=item.key_id,
        name=item.name,
        prefix=item.prefix,
        created_at=item.created_at,
        last_used_at=item.last_used_at,
        revoked_at=item.revoked_at,
    )


class AccessService:
    def __init__(
        self,
        repository: AccessRepository,
        signer: Callable[[], TokenSigner],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._repository = repository
        self._signer = signer
        self._clock = clock

    def register(self, email: str, password: str) -> Account:
        account_id = f"acct_{secrets.token_hex(8)}"
        item = AccountItem(
            account_id=account_id,
            email=email.lower(),
            password_hash=hash_password(password),
            team_id=f"team_{secrets.token_hex(8)}",
            plan=DEFAULT_PLAN,
            created_at=self._clock(),
        )
        try:
            self._repository.create_account(item)
        except EmailTaken:
            raise Conflict("An account with this email already exists", details={"field": "email"}) from None
        return Account(account_id, item.team_id, item.email, item.plan, item.created_at)

    def login(self, email: str, password: str) -> IssuedToken:
        account = self._repository.account_by_email(email)
        # Unknown email and wrong password fail alike, in the same time.
        if not password_matches(password, account.password_hash if account else None) or account is None:
            raise Unauthenticated("Wrong email or password")
        principal = Principal(
            account_id=account.account_id, team_id=account.team_id, role=OWNER_ROLE, plan=account.plan
        )
        return self._signer().issue(principal, self._clock())

    def create_api_key(self, principal: Principal, name: str) -> NewApiKey:
        key = new_api_key()
        item = ApiKeyItem(
            key_id=f"key_{secrets.token_hex(8)}",
            account_id=principal.account_id,
            team_id=principal.team_id,
            role=principal.role,
            plan=principal.plan,
            name=name,
            prefix=visible_prefix(key),
            created_at=self._clock(),
        )
        self._repository.save_api_key(api_key_digest(key), item)
        return NewApiKey(key=key, view=_view(item))

    def list_api_keys(self, principal: Principal) -> list[ApiKeyView]:
        keys = self._repository.api_keys_of(principal.account_id)
        return sorted((_view(item) for item in keys), key=lambda view: view.created_at)

    def revoke_api_key(self, principal: Principal, key_id: str) -> ApiKeyView:
        item = next(
            (key for key in self._repository.api_keys_of(principal.account_id) if key.key_id == key_id), None
        )
        if item is None:
            raise ApiKeyNotFound(key_id)
        if item.revoked_at is None:
            now = self._clock()
            self._repository.revoke_api_key(item, now)
            item.revoked_at = now
        return _view(item)

    def principal_for(self, credential: str) -> Principal | None:
        """Who an API key or an access token belongs to; None when it is unknown, revoked or invalid."""
        if looks_like_api_key(credential):
            item = self._repository.api_key(api_key_digest(credential))
            if item is None or item.revoked_at is not None:
                return None
            return Principal(account_id=item.account_id, team_id=item.team_id, role=item.role, plan=item.plan)
        return self._signer().verify(credential)
