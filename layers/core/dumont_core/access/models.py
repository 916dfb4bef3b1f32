"""Accounts, teams and their members' seats, roles and API keys, and what letting a request in decides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dumont_core.access.rates import RateWindow
from dumont_core.platform.identity import Principal
from dumont_core.platform.models import DomainModel


class Account(DomainModel):
    account_id: str
    email: str
    default_team_id: str
    created_at: datetime


class Login(DomainModel):
    """What login reads, in one GetItem: the password hash and whose it is."""

    account_id: str
    password_hash: str
    default_team_id: str
    token_version: int = 0
    """Advanced each time the account leaves a team; its access tokens carry the version they were
    issued under, and a seat made later refuses older ones (see `Seat.version`)."""


class Registration(DomainModel):
    """A new account, the team it owns, and that team's plan."""

    account_id: str
    team_id: str
    email: str
    plan: str
    created_at: datetime


class Team(DomainModel):
    team_id: str
    name: str
    plan: str
    created_by: str
    created_at: datetime


class Seat(DomainModel):
    """One member of one team: everything a request needs to be let in.

    The role and its permissions, the plan's limits, and the digests of the member's API keys in that
    team, so one conditional update of the seat both checks the caller and counts the request.
    """

    team_id: str
    team_name: str
    account_id: str
    email: str
    role: str
    custom_permissions: list[str] | None = None
    """A custom role's permissions, copied when the role is given; system roles are read from code."""
    plan: str
    minute_limit: int
    day_limit: int | None = None
    usage_key_id: str | None = None
    usage_key: str | None = None
    """The member's API Gateway key, named to API Gateway by the authorizer; never shown to callers."""
    joined_at: datetime
    api_keys: dict[str, dict[str, Any]] = {}
    """key id -> {digest, name, prefix, created_at (ISO 8601)}; the whole key is never stored."""
    version: int = 0
    """The account's token version when this seat was made. An access token of an older version was
    issued before it, for a seat since removed: a re-added member's old tokens stay dead."""


class Role(DomainModel):
    name: str
    description: str | None = None
    permissions: list[str]
    created_at: datetime


class SeatUse(DomainModel):
    """A seat as one request found it, and that request's place in the seat's counters."""

    seat: Seat
    minute: int
    minute_count: int
    day: int
    day_count: int
    admitted: bool
    """False: a window's limit was reached; nothing was counted."""


class ApiKeyView(DomainModel):
    key_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewApiKey(DomainModel):
    key: str
    """The whole key; shown once, never stored."""
    view: ApiKeyView


class MemberView(DomainModel):
    account_id: str
    email: str
    role: str
    joined_at: datetime


class TeamView(DomainModel):
    team_id: str
    name: str
    plan: str
    role: str
    """The caller's role in this team."""
    current: bool
    """Whether the caller's credential acts in this team."""


class TeamDetail(DomainModel):
    team: TeamView
    created_at: datetime
    members: list[MemberView]


class PlanChange(DomainModel):
    """A team's plan after a change, the limits each member has from their next request, and whether
    anything changed (False: it was already on that plan)."""

    team_id: str
    plan: str
    previous_plan: str
    changed: bool
    requests_per_minute: int
    requests_per_day: int | None
    members: int


class RoleView(DomainModel):
    name: str
    description: str | None
    permissions: list[str]
    system: bool


class Admission(DomainModel):
    principal: Principal
    rate: RateWindow
    usage_key: str | None


class ApiKeyParts(DomainModel):
    """Which member's seat an API key belongs to, read from the key itself.

    The ids in a key only say where to look; the key is accepted when the digest of the whole key
    matches the digest stored in that seat.
    """

    key_id: str
    team_id: str
    account_id: str


class TokenClaims(DomainModel):
    """What a valid access token says: who, in which team, under which token version."""

    account_id: str
    team_id: str
    version: int = 0


class IssuedToken(DomainModel):
    access_token: str
    expires_in: int


class UsageKey(DomainModel):
    key_id: str
    value: str
