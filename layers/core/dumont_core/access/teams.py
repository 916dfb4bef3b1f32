"""Teams, their members, and roles (the system roles and a team's own)."""

from __future__ import annotations

from dataclasses import dataclass

from dumont_core.access.credentials import new_id
from dumont_core.access.errors import no_longer_a_member, team_not_found
from dumont_core.access.models import (
    MemberView,
    PlanChange,
    Role,
    RoleView,
    Seat,
    Team,
    TeamDetail,
    TeamView,
)
from dumont_core.access.permissions import (
    ADMIN,
    PERMISSIONS,
    SYSTEM_ROLE_DESCRIPTIONS,
    SYSTEM_ROLES,
    permissions_of,
    unknown_permissions,
)
from dumont_core.access.plans import DEFAULT_PLAN, PLANS
from dumont_core.access.repository import AccessRepository, AlreadyExists, ConcurrentChange
from dumont_core.access.seats import SeatMaker
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dumont_core.platform.identity import Principal


def member_not_found(team_id: str, account_id: str) -> NotFound:
    return NotFound(
        "MEMBER_NOT_FOUND", f"{account_id} is not a member of team {team_id}", account_id=account_id
    )


def _member_view(seat: Seat, role: str | None = None) -> MemberView:
    return MemberView(
        account_id=seat.account_id, email=seat.email, role=role or seat.role, joined_at=seat.joined_at
    )


def _team_view(seat: Seat, principal: Principal) -> TeamView:
    return TeamView(
        team_id=seat.team_id,
        name=seat.team_name,
        plan=seat.plan,
        role=seat.role,
        current=seat.team_id == principal.team_id,
    )


def _require(principal: Principal, team_id: str, seat: Seat | None, permission: str) -> None:
    """Forbidden unless the caller's role in the team holds `permission`: the credential's own role in the
    team it acts in, their seat's in any other (404 when they have none there)."""
    role, granted = principal.role, principal.permissions
    if team_id != principal.team_id:
        if seat is None:
            raise team_not_found(team_id)
        role, granted = seat.role, permissions_of(seat.role, seat.custom_permissions)
    if permission not in granted:
        verb = "manage" if permission == "team.manage" else "see"
        raise Forbidden(
            f"Your role {role} in team {team_id} may not {verb} it (needs {permission})",
            details={"permission": permission, "role": role, "team_id": team_id},
        )


def _last_admin_or_changed(team_id: str, account_id: str) -> Conflict:
    return Conflict(
        "A team needs at least one admin, or the member changed meanwhile; list the members and try again",
        details={"team_id": team_id, "account_id": account_id},
    )


@dataclass(frozen=True, kw_only=True)
class TeamService:
    repository: AccessRepository
    seats: SeatMaker
    clock: Clock = utc_now

    # teams

    def teams_of(self, principal: Principal) -> list[TeamView]:
        seats = self.repository.seats_of_account(principal.account_id)
        return sorted(
            (_team_view(seat, principal) for seat in seats), key=lambda view: (not view.current, view.name)
        )

    def create_team(self, principal: Principal, name: str) -> TeamView:
        caller = self.repository.seat(principal.team_id, principal.account_id)
        if caller is None:
            raise no_longer_a_member()
        now = self.clock()
        team = Team(
            team_id=new_id("team"),
            name=name,
            plan=DEFAULT_PLAN,
            created_by=principal.account_id,
            created_at=now,
        )
        seat = self.seats.new_seat(team, principal.account_id, caller.email, ADMIN, None, joined_at=now)
        with self.seats.kept_if_stored(seat):
            self.repository.create_team(team, seat)
        return _team_view(seat, principal)

    def exists(self, team_id: str) -> bool:
        """Whether the team exists, whoever asks (an operator granting it credits): one GetItem."""
        return self.repository.team(team_id) is not None

    def team(self, principal: Principal, team_id: str) -> TeamDetail:
        team, seats = self.repository.team_with_members(team_id)
        caller = next((seat for seat in seats if seat.account_id == principal.account_id), None)
        if team is None or caller is None:
            raise team_not_found(team_id)
        _require(principal, team_id, caller, "team.view")
        return TeamDetail(
            team=_team_view(caller, principal),
            created_at=team.created_at,
            members=sorted((_member_view(seat) for seat in seats), key=lambda member: member.joined_at),
        )

    def change_plan(self, team_id: str, plan_name: str) -> PlanChange:
        """Put the team on `plan_name` (an operator's decision: the route checks who asks). Its members'
        limits follow from their next request, and their API Gateway keys move to the plan's usage
        plan; asked again, it changes nothing and says so."""
        plan = PLANS.get(plan_name)
        if plan is None:
            message = f"Unknown plan {plan_name!r}; plans are {', '.join(PLANS)}"
            raise ValidationFailed(message, details={"fields": [{"field": "plan", "message": message}]})
        team, seats = self.repository.team_with_members(team_id)
        if team is None:
            raise team_not_found(team_id)
        # The keys first: a change that fails after them is asked again, and moving them twice is harmless.
        for seat in seats:
            self.seats.move(seat, plan.name)
        if team.plan != plan.name or any(seat.plan != plan.name for seat in seats):
            try:
                self.repository.change_plan(team, seats, plan)
            except ConcurrentChange:
                raise Conflict(
                    f"Team {team_id} or its members changed meanwhile; ask again",
                    details={"team_id": team_id},
                ) from None
        return PlanChange(
            team_id=team_id,
            plan=plan.name,
            previous_plan=team.plan,
            changed=team.plan != plan.name,
            requests_per_minute=plan.requests_per_minute,
            requests_per_day=plan.requests_per_day,
            members=len(seats),
        )

    # members

    def add_member(self, principal: Principal, team_id: str, email: str, role: str) -> MemberView:
        self._require_managing(principal, team_id)
        custom_permissions = self._permissions_for_role(team_id, role)
        caller, team, login = self.repository.seats_and_email_owner(team_id, principal.account_id, email)
        if caller is None or team is None:
            raise no_longer_a_member()
        if login is None:
            raise NotFound(
                "ACCOUNT_NOT_FOUND",
                f"No account is registered with {email}; ask them to register first",
                email=email,
            )
        seat = self.seats.new_seat(
            team,
            login.account_id,
            email.lower(),
            role,
            custom_permissions,
            joined_at=self.clock(),
            version=login.token_version,
        )
        with self.seats.kept_if_stored(seat):
            try:
                self.repository.add_seat(seat, is_admin=role == ADMIN)
            except AlreadyExists:
                raise Conflict(
                    f"{email} is already a member of this team", details={"email": email}
                ) from None
        return _member_view(seat)

    def change_member_role(
        self, principal: Principal, team_id: str, account_id: str, role: str
    ) -> MemberView:
        self._require_managing(principal, team_id)
        custom_permissions = self._permissions_for_role(team_id, role)
        seat = self.repository.seat(team_id, account_id)
        if seat is None:
            raise member_not_found(team_id, account_id)
        if seat.role != role:
            admin_delta = (role == ADMIN) - (seat.role == ADMIN)
            try:
                self.repository.change_role(seat, role, custom_permissions, admin_delta)
            except ConcurrentChange:
                raise _last_admin_or_changed(team_id, account_id) from None
        return _member_view(seat, role)

    def remove_member(self, principal: Principal, team_id: str, account_id: str) -> MemberView:
        self._require_managing(principal, team_id)
        seat = self.repository.seat(team_id, account_id)
        if seat is None:
            raise member_not_found(team_id, account_id)
        try:
            self.repository.remove_seat(seat, admin_delta=-1 if seat.role == ADMIN else 0)
        except ConcurrentChange:
            raise _last_admin_or_changed(team_id, account_id) from None
        self.seats.retire(seat)
        return _member_view(seat)

    # roles

    def roles(self, principal: Principal) -> list[RoleView]:
        system = [
            RoleView(
                name=name,
                description=SYSTEM_ROLE_DESCRIPTIONS[name],
                permissions=sorted(granted),
                system=True,
            )
            for name, granted in SYSTEM_ROLES.items()
        ]
        custom = [
            RoleView(
                name=role.name,
                description=role.description,
                permissions=sorted(role.permissions),
                system=False,
            )
            for role in self.repository.roles(principal.team_id)
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
        role = Role(
            name=name, description=description, permissions=sorted(set(permissions)), created_at=self.clock()
        )
        try:
            self.repository.create_role(principal.team_id, role)
        except AlreadyExists:
            raise Conflict(f"This team already has a role named {name}", details={"name": name}) from None
        return RoleView(
            name=role.name, description=role.description, permissions=list(role.permissions), system=False
        )

    # helpers

    def _require_managing(self, principal: Principal, team_id: str) -> None:
        """Members are managed by a role that may (`team.manage`) in the team named, whichever team the
        caller's credential acts in: their seat in that team decides."""
        seat = None if team_id == principal.team_id else self.repository.seat(team_id, principal.account_id)
        _require(principal, team_id, seat, "team.manage")

    def _permissions_for_role(self, team_id: str, role: str) -> list[str] | None:
        if role in SYSTEM_ROLES:
            return None
        custom = self.repository.role(team_id, role)
        if custom is None:
            raise NotFound(
                "ROLE_NOT_FOUND",
                f"No role named {role}; use admin, developer, viewer or a role made with POST /api/v1/roles",
                role=role,
            )
        return list(custom.permissions)
