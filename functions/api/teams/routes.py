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
    id: str = Field(validation_alias=AliasChoices("id", "team_id"))
    name: str
    plan: str
    role: str = Field(description="Your role in this team")
    current: bool = Field(description="Whether the credential you called with acts in this team")


class MemberView(View):
    account_id: str
    email: str
    role: str
    joined_at: datetime


class TeamDetailView(TeamView):
    created_at: datetime
    members: list[MemberView]


class RoleView(View):
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


@routes.operation(
    "GET",
    "/api/v1/teams",
    "List your teams",
    description="Every team you are a member of, with your role in each; the team your credential acts "
    "in comes first.",
    answer=Envelope[list[TeamView]],
    answered="Your teams",
    permission="team.view",
)
def list_teams(caller: Caller) -> Response[str]:
    teams = composition.teams().teams_of(caller)
    return json_response(Envelope[list[TeamView]](data=[team_view(team) for team in teams]))


@routes.operation(
    "POST",
    "/api/v1/teams",
    "Create a team",
    description="You become its admin. Log in with its `team_id` to act in it.",
    answer=Envelope[TeamView],
    answered="The new team",
    status=201,
    permission="teams.create",
    errors=(400,),
)
def create_team(caller: Caller, body: Annotated[NewTeamRequest, Body(embed=False)]) -> Response[str]:
    team = composition.teams().create_team(caller, body.name)
    return json_response(Envelope[TeamView](data=team_view(team)), 201)


@routes.operation(
    "GET",
    "/api/v1/teams/{team_id}",
    "Get a team and its members",
    answer=Envelope[TeamDetailView],
    answered="The team",
    permission="team.view",
    errors=(404,),
)
def get_team(caller: Caller, team_id: TeamId) -> Response[str]:
    detail = composition.teams().team(caller, team_id)
    view = TeamDetailView.model_validate(
        {**team_view(detail.team).model_dump(), "created_at": detail.created_at, "members": detail.members}
    )
    return json_response(Envelope[TeamDetailView](data=view))


@routes.operation(
    "GET",
    "/api/v1/teams/{team_id}/members",
    "List a team's members",
    answer=Envelope[list[MemberView]],
    answered="Members, first joined first",
    permission="team.view",
    errors=(404,),
)
def list_members(caller: Caller, team_id: TeamId) -> Response[str]:
    detail = composition.teams().team(caller, team_id)
    return json_response(Envelope[list[MemberView]].model_validate({"data": detail.members}))


@routes.operation(
    "POST",
    "/api/v1/teams/{team_id}/members",
    "Add a member",
    description="Adds a registered account with a role (default `developer`). Needs `team.manage`, with a "
    "credential acting in this team.",
    answer=Envelope[MemberView],
    answered="The new member",
    status=201,
    permission="team.manage",
    errors=(400, 404, 409),
)
def add_member(
    caller: Caller, team_id: TeamId, body: Annotated[NewMemberRequest, Body(embed=False)]
) -> Response[str]:
    member = composition.teams().add_member(caller, team_id, body.email, body.role)
    return json_response(Envelope[MemberView](data=MemberView.model_validate(member)), 201)


@routes.operation(
    "PATCH",
    "/api/v1/teams/{team_id}/members/{account_id}",
    "Change a member's role",
    description="Takes effect on the member's next request, whatever credential they use. A team keeps "
    "at least one admin.",
    answer=Envelope[MemberView],
    answered="The member",
    permission="team.manage",
    errors=(400, 404, 409),
)
def change_member_role(
    caller: Caller,
    team_id: TeamId,
    account_id: AccountId,
    body: Annotated[RoleChangeRequest, Body(embed=False)],
) -> Response[str]:
    member = composition.teams().change_member_role(caller, team_id, account_id, body.role)
    return json_response(Envelope[MemberView](data=MemberView.model_validate(member)))


@routes.operation(
    "DELETE",
    "/api/v1/teams/{team_id}/members/{account_id}",
    "Remove a member",
    description="Their tokens and API keys stop working in this team at once. A team keeps at least one "
    "admin.",
    answer=Envelope[MemberView],
    answered="The removed member",
    permission="team.manage",
    errors=(404, 409),
)
def remove_member(caller: Caller, team_id: TeamId, account_id: AccountId) -> Response[str]:
    member = composition.teams().remove_member(caller, team_id, account_id)
    return json_response(Envelope[MemberView](data=MemberView.model_validate(member)))


@routes.operation(
    "GET",
    "/api/v1/roles",
    "List roles",
    description="The system roles and the roles your team made, with their permissions.",
    answer=Envelope[list[RoleView]],
    answered="Roles",
    permission="team.view",
)
def list_roles(caller: Caller) -> Response[str]:
    roles = composition.teams().roles(caller)
    return json_response(Envelope[list[RoleView]].model_validate({"data": roles}))


@routes.operation(
    "POST",
    "/api/v1/roles",
    "Create a role",
    description="A role of your team, made of permissions; give it to members by name.",
    answer=Envelope[RoleView],
    answered="The new role",
    status=201,
    permission="team.manage",
    errors=(400, 409),
)
def create_role(caller: Caller, body: Annotated[NewRoleRequest, Body(embed=False)]) -> Response[str]:
    role = composition.teams().create_role(caller, body.name, body.permissions, body.description)
    return json_response(Envelope[RoleView](data=RoleView.model_validate(role)), 201)
