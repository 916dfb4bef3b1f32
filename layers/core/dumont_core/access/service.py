"""Accounts, teams and roles, API keys, and letting a request in (who is calling, within which limits)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dumont_core.access.credentials import (
    api_key_digest,
    hash_password,
    looks_like_api_key,
    new_api_key,
    new_id,
    parse_api_key,
    password_matches,
    visible_prefix,
)
from dumont_core.access.permissions import (
    ADMIN,
    PERMISSIONS,
    SYSTEM_ROLE_DESCRIPTIONS,
    SYSTEM_ROLES,
    unknown_permissions,
)
from dumont_core.access.plans import DEFAULT_PLAN, PLANS
from dumont_core.access.repository import (
    AccessRepository,
    AccountItem,
    AlreadyExists,
    ConcurrentChange,
    RoleItem,
    SeatItem,
    SeatUse,
    TeamItem,
)
from dumont_core.access.tokens import IssuedToken, TokenSigner
from dumont_core.access.usage_keys import UsageKeys
from dumont_core.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from dumont_core.models import Principal, utc_now

MAX_API_KEYS_PER_MEMBER = 20


def api_key_not_found(key_id: str) -> NotFound:
    return NotFound("API_KEY_NOT_FOUND", f"API key {key_id} not found", key_id=key_id)


def team_not_found(team_id: str) -> NotFound:
    return NotFound("TEAM_NOT_FOUND", f"Team {team_id} not found", team_id=team_id)


def member_not_found(team_id: str, account_id: str) -> NotFound:
    return NotFound(
        "MEMBER_NOT_FOUND", f"{account_id} is not a member of team {team_id}", account_id=account_id
    )


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


@dataclass(frozen=True)
class MemberView:
    account_id: str
    email: str
    role: str
    joined_at: datetime


@dataclass(frozen=True)
class TeamView:
    team_id: str
    name: str
    plan: str
    role: str
    """The caller's role in this team."""
    current: bool
    """Whether the caller's credential acts in this team."""


@dataclass(frozen=True)
class TeamDetail:
    team: TeamView
    created_at: datetime
    members: list[MemberView]


@dataclass(frozen=True)
class RoleView:
    name: str
    description: str | None
    permissions: list[str]
    system: bool


@dataclass(frozen=True)
class RateWindow:
    """What the `X-RateLimit-*` headers report: the window closest to its limit."""

    limit: int
    remaining: int
    reset_at: int
    """Epoch second at which the window starts over."""
    limited: bool

    def retry_after(self, now: datetime) -> int:
        return max(1, self.reset_at - int(now.timestamp()))


@dataclass(frozen=True)
class Admission:
    principal: Principal
    rate: RateWindow
    usage_key: str | None


def permissions_of(role: str, custom_permissions: list[str] | None) -> frozenset[str]:
    if role in SYSTEM_ROLES:
        return SYSTEM_ROLES[role]
    return frozenset(custom_permissions or ())


def _rate_window(use: SeatUse) -> RateWindow:
    seat = use.seat
    minute_limit = int(seat.minute_limit)
    minute = RateWindow(
        limit=minute_limit,
        remaining=max(0, minute_limit - use.minute_count),
        reset_at=(use.minute + 1) * 60,
        limited=not use.admitted and use.minute_count >= minute_limit,
    )
    if seat.day_limit is None:
        return minute
    day_limit = int(seat.day_limit)
    day = RateWindow(
        limit=day_limit,
        remaining=max(0, day_limit - use.day_count),
        reset_at=(use.day + 1) * 86_400,
        limited=not use.admitted and not minute.limited,
    )
    if day.limited or (not minute.limited and day.remaining < minute.remaining):
        return day
    return minute


def _key_view(key_id: str, entry: dict[str, Any], last_used_at: datetime | None) -> ApiKeyView:
    return ApiKeyView(
        key_id=key_id,
        name=str(entry["name"]),
        prefix=str(entry["prefix"]),
        created_at=_as_datetime(entry["created_at"]),
        last_used_at=last_used_at,
        revoked_at=None,
    )


def _as_datetime(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(UTC)


class AccessService:
    def __init__(
        self,
        repository: AccessRepository,
        signer: Callable[[], TokenSigner],
        usage_keys: UsageKeys,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._repository = repository
        self._signer = signer
        self._usage_keys = usage_keys
        self._clock = clock

    # accounts

    def register(self, email: str, password: str, plan: str = DEFAULT_PLAN) -> Account:
        """A new account with its own team, of which it is the admin. Sign-ups get the default plan;
        an operator may register an account on another plan."""
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan}; plans are {', '.join(PLANS)}")
        account_id, team_id, now = new_id("acct"), new_id("team"), self._clock()
        email = email.lower()
        account = AccountItem(account_id=account_id, email=email, default_team_id=team_id, created_at=now)
        team = TeamItem(team_id=team_id, name="Personal", plan=plan, created_by=account_id, created_at=now)
        seat = self._new_seat(team, account_id, email, ADMIN, None)
        with self._usage_key_kept_if_stored(seat):
            try:
                self._repository.create_account(account, hash_password(password), team, seat)
            except AlreadyExists:
                raise Conflict(
                    "An account with this email already exists", details={"field": "email"}
                ) from None
        return Account(account_id, team_id, email, team.plan, now)

    def login(self, email: str, password: str, team_id: str | None = None) -> IssuedToken:
        login = self._repository.login(email)
        # Unknown email and wrong password fail alike, in the same time.
        if not password_matches(password, login.password_hash if login else None) or login is None:
            raise Unauthenticated("Wrong email or password")
        team = team_id or login.default_team_id
        if team != login.default_team_id and self._repository.seat(team, login.account_id) is None:
            raise team_not_found(team)
        return self._signer().issue(login.account_id, team, self._clock())

    # the request path

    def admit(self, credential: str) -> Admission | None:
        """Who is calling and whether their plan lets this request through; None for unknown, revoked
        or invalid credentials and for removed members. Counts the request when it is let through."""
        now = self._clock()
        key_id: str | None = None
        digest: str | None = None
        if looks_like_api_key(credential):
            parts = parse_api_key(credential)
            if parts is None:
                return None
            team_id, account_id, key_id, digest = (
                parts.team_id,
                parts.account_id,
                parts.key_id,
                api_key_digest(credential),
            )
        else:
            claims = self._signer().verify(credential)
            if claims is None:
                return None
            account_id, team_id = claims
        use = self._repository.admit(team_id, account_id, now, key_id=key_id, digest=digest)
        if use is None:
            return None
        seat = use.seat
        principal = Principal(
            account_id=account_id,
            team_id=team_id,
            role=seat.role,
            plan=seat.plan,
            permissions=permissions_of(seat.role, seat.custom_permissions),
            key_id=key_id,
        )
        return Admission(principal=principal, rate=_rate_window(use), usage_key=seat.usage_key)

    # API keys

    def create_api_key(self, principal: Principal, name: str) -> NewApiKey:
        key, key_id = new_api_key(principal.team_id, principal.account_id)
        entry = {
            "digest": api_key_digest(key),
            "name": name,
            "prefix": visible_prefix(key),
            "created_at": self._clock().isoformat(),
        }
        seat = self._seat_of(principal)
        if not self._repository.add_api_key(seat, key_id, entry, MAX_API_KEYS_PER_MEMBER):
            raise Conflict(
                f"You already have {MAX_API_KEYS_PER_MEMBER} API keys in this team; revoke one first",
                details={"limit": MAX_API_KEYS_PER_MEMBER},
            )
        return NewApiKey(key=key, view=_key_view(key_id, entry, None))

    def list_api_keys(self, principal: Principal) -> list[ApiKeyView]:
        found = self._repository.seat_with_key_use(principal.team_id, principal.account_id)
        if found is None:
            raise Unauthenticated("You are no longer a member of this team")
        seat, last_used = found
        views = [
            _key_view(key_id, dict(entry), last_used.get(key_id))
            for key_id, entry in seat.api_keys.as_dict().items()
        ]
        return sorted(views, key=lambda view: view.created_at)

    def revoke_api_key(self, principal: Principal, key_id: str) -> ApiKeyView:
        removed = self._repository.remove_api_key(principal.team_id, principal.account_id, key_id)
        if removed is None:
            raise api_key_not_found(key_id)
        view = _key_view(key_id, removed, None)
        return ApiKeyView(**{**view.__dict__, "revoked_at": self._clock()})

    # teams

    def teams_of(self, principal: Principal) -> list[TeamView]:
        seats = self._repository.seats_of_account(principal.account_id)
        return sorted(
            (self._team_view(seat, principal) for seat in seats),
            key=lambda view: (not view.current, view.name),
        )

    def create_team(self, principal: Principal, name: str) -> TeamView:
        caller = self._seat_of(principal)
        team = TeamItem(
            team_id=new_id("team"),
            name=name,
            plan=DEFAULT_PLAN,
            created_by=principal.account_id,
            created_at=self._clock(),
        )
        seat = self._new_seat(team, principal.account_id, caller.email, ADMIN, None)
        with self._usage_key_kept_if_stored(seat):
            self._repository.create_team(team, seat)
        return self._team_view(seat, principal)

    def team(self, principal: Principal, team_id: str) -> TeamDetail:
        team, seats, _ = self._repository.team_with_members(team_id)
        caller = next((seat for seat in seats if seat.account_id == principal.account_id), None)
        if team is None or caller is None:
            raise team_not_found(team_id)
        members = [MemberView(seat.account_id, seat.email, seat.role, seat.joined_at) for seat in seats]
        return TeamDetail(
            team=self._team_view(caller, principal),
            created_at=team.created_at,
            members=sorted(members, key=lambda member: member.joined_at),
        )

    def add_member(self, principal: Principal, team_id: str, email: str, role: str) -> MemberView:
        self._require_managing(principal, team_id)
        custom_permissions = self._permissions_for_role(team_id, role)
        caller, team, login = self._repository.seats_and_email_owner(team_id, principal.account_id, email)
        if caller is None or team is None:
            raise Unauthenticated("You are no longer a member of this team")
        if login is None:
            raise NotFound(
                "ACCOUNT_NOT_FOUND",
                f"No account is registered with {email}; ask them to register first",
                email=email,
            )
        seat = self._new_seat(team, login.account_id, email.lower(), role, custom_permissions)
        with self._usage_key_kept_if_stored(seat):
            try:
                self._repository.add_seat(seat, is_admin=role == ADMIN)
            except AlreadyExists:
                raise Conflict(
                    f"{email} is already a member of this team", details={"email": email}
                ) from None
        return MemberView(seat.account_id, seat.email, seat.role, seat.joined_at)

    def change_member_role(
        self, principal: Principal, team_id: str, account_id: str, role: str
    ) -> MemberView:
        self._require_managing(principal, team_id)
        custom_permissions = self._permissions_for_role(team_id, role)
        seat = self._repository.seat(team_id, account_id)
        if seat is None:
            raise member_not_found(team_id, account_id)
        if seat.role != role:
            admin_delta = (role == ADMIN) - (seat.role == ADMIN)
            try:
                self._repository.change_role(seat, role, custom_permissions, admin_delta)
            except ConcurrentChange:
                raise self._last_admin_or_changed(team_id, account_id) from None
        return MemberView(seat.account_id, seat.email, role, seat.joined_at)

    def remove_member(self, principal: Principal, team_id: str, account_id: str) -> MemberView:
        self._require_managing(principal, team_id)
        seat = self._repository.seat(team_id, account_id)
        if seat is None:
            raise member_not_found(team_id, account_id)
        try:
            self._repository.remove_seat(seat, admin_delta=-1 if seat.role == ADMIN else 0)
        except ConcurrentChange:
            raise self._last_admin_or_changed(team_id, account_id) from None
        self._retire_usage_key(seat)
        return MemberView(seat.account_id, seat.email, seat.role, seat.joined_at)

    # roles

    def roles(self, principal: Principal) -> list[RoleView]:
        system = [
            RoleView(name, SYSTEM_ROLE_DESCRIPTIONS[name], sorted(permissions), system=True)
            for name, permissions in SYSTEM_ROLES.items()
        ]
        custom = [
            RoleView(role.name, role.description, sorted(role.permissions), system=False)
            for role in self._repository.roles(principal.team_id)
        ]
        return system + sorted(custom, key=lambda role: role.name)

    def create_role(
        self, principal: Principal, name: str, permissions: list[str], description: str | None
    ) -> RoleView:
        unknown = unknown_permissions(permissions)
        if unknown:
            raise ValidationFailed(
                f"Unknown permissions: {', '.join(unknown)}. Known: {', '.join(sorted(PERMISSIONS))}",
                details={"fields": [{"field": "permissions", "message": f"unknown: {', '.join(unknown)}"}]},
            )
        if name in SYSTEM_ROLES:
            raise Conflict(f"{name} is a system role; choose another name", details={"name": name})
        role = RoleItem(
            name=name, description=description, permissions=sorted(set(permissions)), created_at=self._clock()
        )
        try:
            self._repository.create_role(principal.team_id, role)
        except AlreadyExists:
            raise Conflict(f"This team already has a role named {name}", details={"name": name}) from None
        return RoleView(role.name, role.description, list(role.permissions), system=False)

    # helpers

    def _seat_of(self, principal: Principal) -> SeatItem:
        seat = self._repository.seat(principal.team_id, principal.account_id)
        if seat is None:
            raise Unauthenticated("You are no longer a member of this team")
        return seat

    def _new_seat(
        self, team: TeamItem, account_id: str, email: str, role: str, custom_permissions: list[str] | None
    ) -> SeatItem:
        plan = PLANS[team.plan]
        usage_key = self._usage_keys.issue(f"dumont-{team.team_id}-{account_id}", plan.name)
        return SeatItem(
            team_id=team.team_id,
            team_name=team.name,
            account_id=account_id,
            email=email,
            role=role,
            custom_permissions=custom_permissions,
            plan=plan.name,
            minute_limit=plan.requests_per_minute,
            day_limit=plan.requests_per_day,
            usage_key_id=usage_key.key_id if usage_key else None,
            usage_key=usage_key.value if usage_key else None,
            joined_at=self._clock(),
            api_keys={},
        )

    @contextmanager
    def _usage_key_kept_if_stored(self, seat: SeatItem) -> Iterator[None]:
        """The seat's API Gateway key was made before the seat is stored; if storing fails, it goes."""
        try:
            yield
        except BaseException:
            self._retire_usage_key(seat)
            raise

    def _retire_usage_key(self, seat: SeatItem) -> None:
        if seat.usage_key_id:
            self._usage_keys.retire(seat.usage_key_id)

    def _team_view(self, seat: SeatItem, principal: Principal) -> TeamView:
        return TeamView(
            team_id=seat.team_id,
            name=seat.team_name,
            plan=seat.plan,
            role=seat.role,
            current=seat.team_id == principal.team_id,
        )

    def _require_managing(self, principal: Principal, team_id: str) -> None:
        """Members are managed with a credential that acts in that team, by a role that may."""
        if team_id != principal.team_id:
            if self._repository.seat(team_id, principal.account_id) is None:
                raise team_not_found(team_id)
            raise Forbidden(
                f"Your credential acts in team {principal.team_id}; log in with team_id {team_id} to manage "
                "that team",
                details={"team_id": team_id},
            )
        if not principal.may("team.manage"):
            raise Forbidden(
                f"Your role {principal.role} may not manage this team (needs team.manage)",
                details={"permission": "team.manage", "role": principal.role},
            )

    def _permissions_for_role(self, team_id: str, role: str) -> list[str] | None:
        if role in SYSTEM_ROLES:
            return None
        custom = self._repository.role(team_id, role)
        if custom is None:
            raise NotFound(
                "ROLE_NOT_FOUND",
                f"No role named {role}; use admin, developer, viewer or a role made with POST /api/v1/roles",
                role=role,
            )
        return list(custom.permissions)

    def _last_admin_or_changed(self, team_id: str, account_id: str) -> Conflict:
        return Conflict(
            "A team needs at least one admin, or the member changed meanwhile; "
            "list the members and try again",
            details={"team_id": team_id, "account_id": account_id},
        )
