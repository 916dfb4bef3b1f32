"""Accounts, logging in, API keys, and letting a request in (who is calling, within which limits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from dumont_core.access.admission import AdmissionRepository
from dumont_core.access.attempts import (
    AttemptRepository,
    AttemptsRefused,
    Counter,
    GuessingLimits,
    Reservation,
    address_subject,
)
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
from dumont_core.access.errors import no_longer_a_member, team_not_found
from dumont_core.access.models import (
    Account,
    Admission,
    ApiKeyView,
    IssuedToken,
    NewApiKey,
    RateWindow,
    Registration,
    SeatUse,
    Team,
)
from dumont_core.access.permissions import ADMIN, OPERATOR_PERMISSION, permissions_of
from dumont_core.access.plans import DEFAULT_PLAN, PLANS
from dumont_core.access.repository import AccessRepository, AlreadyExists
from dumont_core.access.seats import SeatMaker
from dumont_core.access.tokens import TokenSigner
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import Conflict, NotFound, TooManyAttempts, Unauthenticated
from dumont_core.platform.identity import Principal

MAX_API_KEYS_PER_MEMBER = 20


def api_key_not_found(key_id: str) -> NotFound:
    return NotFound("API_KEY_NOT_FOUND", f"API key {key_id} not found", key_id=key_id)


def rate_window(use: SeatUse) -> RateWindow:
    """The window nearest its limit, as the rate-limit headers report it."""
    seat = use.seat
    minute = RateWindow(
        limit=seat.minute_limit,
        remaining=max(0, seat.minute_limit - use.minute_count),
        reset_at=(use.minute + 1) * 60,
        limited=not use.admitted and use.minute_count >= seat.minute_limit,
    )
    if seat.day_limit is None:
        return minute
    day = RateWindow(
        limit=seat.day_limit,
        remaining=max(0, seat.day_limit - use.day_count),
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
        created_at=datetime.fromisoformat(str(entry["created_at"])).astimezone(UTC),
        last_used_at=last_used_at,
        revoked_at=None,
    )


class Welcome(Protocol):
    """Whoever must hear of a new sign-up and its team (billing gives it its trial credit)."""

    def welcome(self, account_id: str, team_id: str) -> None: ...


@dataclass(frozen=True, kw_only=True)
class AccessService:
    repository: AccessRepository
    admission: AdmissionRepository
    seats: SeatMaker
    signer: Callable[[], TokenSigner]
    """Made on first use: the signing secret is read only by requests that sign or verify a token."""
    attempts: AttemptRepository
    limits: GuessingLimits
    welcome: Welcome | None = None
    clock: Clock = utc_now

    # accounts

    def register(
        self,
        email: str,
        password: str,
        plan: str = DEFAULT_PLAN,
        caller_address: str | None = None,
        *,
        operator: bool = False,
    ) -> Registration:
        """A new account with its own team, of which it is the admin. Sign-ups get the default plan;
        an operator may register an account on another plan, or another operator. A sign-up from
        `caller_address` counts against that address's registrations (TooManyAttempts past the limit),
        whatever comes of it."""
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan}; plans are {', '.join(PLANS)}")
        if caller_address is not None:
            counter = Counter(
                "register-address", address_subject(caller_address), self.limits.registrations_per_address
            )
            self._reserve([counter], "Too many accounts were registered from your address")
        account_id, team_id, now = new_id("acct"), new_id("team"), self.clock()
        email = email.lower()
        account = Account(account_id=account_id, email=email, default_team_id=team_id, created_at=now)
        team = Team(team_id=team_id, name="Personal", plan=plan, created_by=account_id, created_at=now)
        extra = [OPERATOR_PERMISSION] if operator else None  # the deployment's operator: grants credits
        seat = self.seats.new_seat(team, account_id, email, ADMIN, extra, joined_at=now)
        with self.seats.kept_if_stored(seat):
            try:
                self.repository.create_account(account, hash_password(password), team, seat)
            except AlreadyExists:
                raise Conflict(
                    "An account with this email already exists", details={"field": "email"}
                ) from None
        if self.welcome is not None:
            self.welcome.welcome(account_id, team_id)
        return Registration(
            account_id=account_id, team_id=team_id, email=email, plan=team.plan, created_at=now
        )

    def login(
        self, email: str, password: str, team_id: str | None = None, caller_address: str | None = None
    ) -> IssuedToken:
        """A token for the account, acting in its own team or in `team_id`. A failed login counts against
        the account and against `caller_address`; past either limit, every login is refused
        (TooManyAttempts) without the password being checked, until the window ends."""
        counters = [Counter("login-account", email.lower(), self.limits.failed_logins_per_account)]
        if caller_address is not None:
            subject = address_subject(caller_address)
            counters.append(Counter("login-address", subject, self.limits.failed_logins_per_address))
        reservation = self._reserve(counters, "Too many failed logins for this account or from your address")
        login = self.repository.login(email)
        # Unknown email and wrong password fail alike, in the same time, and both stay counted.
        if not password_matches(password, login.password_hash if login else None) or login is None:
            raise Unauthenticated("Wrong email or password")
        team = team_id or login.default_team_id
        # A login that succeeds is not counted; one into a team the account is not in stays counted.
        member_of = (team, login.account_id) if team != login.default_team_id else None
        if not self.attempts.release(reservation, member_of):
            raise team_not_found(team)
        return self.signer().issue(login.account_id, team, self.clock(), login.token_version)

    def _reserve(self, counters: list[Counter], refusal: str) -> Reservation:
        try:
            return self.attempts.reserve(counters, self.clock())
        except AttemptsRefused as refused:
            raise TooManyAttempts(
                f"{refusal}; try again in {refused.retry_after} s", retry_after=refused.retry_after
            ) from None

    # the request path

    def admit(self, credential: str) -> Admission | None:
        """Who is calling and whether their plan lets this request through; None for unknown, revoked
        or invalid credentials and for removed members. Counts the request when it is let through."""
        key_id: str | None = None
        digest: str | None = None
        token_version: int | None = None
        if looks_like_api_key(credential):
            parts = parse_api_key(credential)
            if parts is None:
                return None
            team_id, account_id, key_id = parts.team_id, parts.account_id, parts.key_id
            digest = api_key_digest(credential)
        else:
            claims = self.signer().verify(credential, self.clock())
            if claims is None:
                return None
            account_id, team_id, token_version = claims.account_id, claims.team_id, claims.version
        use = self.admission.admit(
            team_id, account_id, self.clock(), key_id=key_id, digest=digest, token_version=token_version
        )
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
        return Admission(principal=principal, rate=rate_window(use), usage_key=seat.usage_key)

    def admit_demo(self, caller_address: str | None) -> RateWindow:
        """Count a demo-mode request without credentials (`?demo=true`) against its address's allowance;
        the window is `limited` when the address has used it up (the request is then not counted)."""
        counter = Counter(
            "demo-address", address_subject(caller_address), self.limits.demo_requests_per_address
        )
        return self.attempts.count(counter, self.clock())

    # API keys

    def create_api_key(self, principal: Principal, name: str) -> NewApiKey:
        key, key_id = new_api_key(principal.team_id, principal.account_id)
        entry = {
            "digest": api_key_digest(key),
            "name": name,
            "prefix": visible_prefix(key),
            "created_at": self.clock().isoformat(),
        }
        seat = self.repository.seat(principal.team_id, principal.account_id)
        if seat is None:
            raise no_longer_a_member()
        if not self.admission.add_api_key(seat, key_id, entry, MAX_API_KEYS_PER_MEMBER):
            raise Conflict(
                f"You already have {MAX_API_KEYS_PER_MEMBER} API keys in this team; revoke one first",
                details={"limit": MAX_API_KEYS_PER_MEMBER},
            )
        return NewApiKey(key=key, view=_key_view(key_id, entry, None))

    def list_api_keys(self, principal: Principal) -> list[ApiKeyView]:
        found = self.admission.seat_with_key_use(principal.team_id, principal.account_id)
        if found is None:
            raise no_longer_a_member()
        seat, last_used = found
        views = [
            _key_view(key_id, dict(entry), last_used.get(key_id)) for key_id, entry in seat.api_keys.items()
        ]
        return sorted(views, key=lambda view: view.created_at)

    def revoke_api_key(self, principal: Principal, key_id: str) -> ApiKeyView:
        removed = self.admission.remove_api_key(principal.team_id, principal.account_id, key_id)
        if removed is None:
            raise api_key_not_found(key_id)
        return _key_view(key_id, removed, None).model_copy(update={"revoked_at": self.clock()})
