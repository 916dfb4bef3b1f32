"""Teams and their members (`/api/v1/teams…`), and roles (`/api/v1/roles`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import AliasChoices, Field

from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import EMAIL_PATTERN, Envelope, RequestBody, View
from dumont_core import composition
from dumont_core.access.models import TeamView as Team
from dumont_core.access.permissions import PERMISSIONS

routes = DomainRoutes(tag="Teams")

TeamId = Annotated[str, Path(description="Team id, e.g. team_3f9c…", max_length=64)]
AccountId = Annotated[str, Path(description="The member's account id, e.g. acct_8a1e…", max_length=64)]
ROLE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{1,31}$"
RoleName = Annotated[
    str,
    Field(
        pattern=ROLE_NAME_PATTERN,
        description="`admin`, `developer`, `viewer`, or a role made with `POST /api/v1/roles`",
        examples=["developer"],
    ),
]


class TeamView(View):
    """A team you belong to, and your role in it."""

    id: str = Field(validation_alias=AliasChoices("id", "team_id"))
    name: str
    plan: str
    role: str = Field(description="Your role in this team")
    current: bool = Field(description="Whether the credential you called with acts in this team")


class MemberView(View):
    """A member of a team."""

    account_id: str
    email: str
    role: str
    joined_at: datetime


class TeamDetailView(TeamView):
    """A team and its members."""

    created_at: datetime
    members: list[MemberView]


class RoleView(View):
    """A role and its permissions."""

    name: str
    description: str | None
    permissions: list[str]
    system: bool = Field(description="System roles are the same in every team and cannot be changed")


class NewTeamRequest(RequestBody):
    name: str = Field(min_length=1, max_length=64, examples=["ML research"])


class NewMemberRequest(RequestBody):
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN, description="A registered account's email")
    role: RoleName = "developer"


class RoleChangeRequest(RequestBody):
    role: RoleName


class NewRoleRequest(RequestBody):
    name: str = Field(pattern=ROLE_NAME_PATTERN, examples=["operator"])
    description: str | None = Field(default=None, max_length=200)
    permissions: list[str] = Field(
        min_length=1,
        max_length=len(PERMISSIONS),
        description="Any of: " + ", ".join(f"`{name}`" for name in PERMISSIONS),
        examples=[["instances.view", "instances.operate"]],
    )


def team_view(team: Team) -> TeamView:
    return TeamView.model_validate(team)


@routes.operation("GET", "/api/v1/teams", Envelope[list[TeamView]], "team.view")
def list_teams(caller: Caller) -> Response[str]:
    """List your teams

    Every team you are a member of, with your role in each; the team your credential acts in comes first."""
    teams = composition.teams().teams_of(caller)
    return json_response(Envelope[list[TeamView]](data=[team_view(team) for team in teams]))


@routes.operation("POST", "/api/v1/teams", Envelope[TeamView], "teams.create", status=201, errors=(400,))
def create_team(caller: Caller, body: Annotated[NewTeamRequest, Body(embed=False)]) -> Response[str]:
    """Create a team

    You become its admin. Log in with its `team_id` to act in it."""
    team = composition.teams().create_team(caller, body.name)
    return json_response(Envelope[TeamView](data=team_view(team)), 201)


@routes.operation("GET", "/api/v1/teams/{team_id}", Envelope[TeamDetailView], "team.view", errors=(404,))
def get_team(caller: Caller, team_id: TeamId) -> Response[str]:
    """Get a team and its members"""
    detail = composition.teams().team(caller, team_id)
    view = TeamDetailView.model_validate(
        {**team_view(detail.team).model_dump(), "created_at": detail.created_at, "members": detail.members}
    )
    return json_response(Envelope[TeamDetailView](data=view))


@routes.operation(
    "GET", "/api/v1/teams/{team_id}/members", Envelope[list[MemberView]], "team.view", errors=(404,)
)
def list_members(caller: Caller, team_id: TeamId) -> Response[str]:
    """List a team's members"""
    detail = composition.teams().team(caller, team_id)
    return json_response(Envelope[list[MemberView]].model_validate({"data": detail.members}))


@routes.operation(
    "POST",
    "/api/v1/teams/{team_id}/members",
    Envelope[MemberView],
    "team.manage",
    status=201,
    errors=(400, 404, 409),
)
def add_member(
    caller: Caller, team_id: TeamId, body: Annotated[NewMemberRequest, Body(embed=False)]
) -> Response[str]:
    """Add a member

    Adds a registered account with a role (default `developer`). Needs `team.manage`, with a credential
    acting in this team."""
    member = composition.teams().add_member(caller, team_id, body.email, body.role)
    return json_response(Envelope[MemberView](data=MemberView.model_validate(member)), 201)


@routes.operation(
    "PATCH",
    "/api/v1/teams/{team_id}/members/{account_id}",
    Envelope[MemberView],
    "team.manage",
    errors=(400, 404, 409),
)
def change_member_role(
    caller: Caller,
    team_id: TeamId,
    account_id: AccountId,
    body: Annotated[RoleChangeRequest, Body(embed=False)],
) -> Response[str]:
    """Change a member's role

    Takes effect on the member's next request, whatever credential they use. A team keeps at least one
    admin."""
    member = composition.teams().change_member_role(caller, team_id, account_id, body.role)
    return json_response(Envelope[MemberView](data=MemberView.model_validate(member)))


@routes.operation(
    "DELETE",
    "/api/v1/teams/{team_id}/members/{account_id}",
    Envelope[MemberView],
    "team.manage",
    errors=(404, 409),
)
def remove_member(caller: Caller, team_id: TeamId, account_id: AccountId) -> Response[str]:
    """Remove a member

    Their tokens and API keys stop working in this team at once. A team keeps at least one admin."""
    member = composition.teams().remove_member(caller, team_id, account_id)
    return json_response(Envelope[MemberView](data=MemberView.model_validate(member)))


@routes.operation("GET", "/api/v1/roles", Envelope[list[RoleView]], "team.view")
def list_roles(caller: Caller) -> Response[str]:
    """List roles

    The system roles and the roles your team made, with their permissions."""
    roles = composition.teams().roles(caller)
    return json_response(Envelope[list[RoleView]].model_validate({"data": roles}))


@routes.operation("POST", "/api/v1/roles", Envelope[RoleView], "team.manage", status=201, errors=(400, 409))
def create_role(caller: Caller, body: Annotated[NewRoleRequest, Body(embed=False)]) -> Response[str]:
    """Create a role

    A role of your team, made of permissions; give it to members by name."""
    role = composition.teams().create_role(caller, body.name, body.permissions, body.description)
    return json_response(Envelope[RoleView](data=RoleView.model_validate(role)), 201)
