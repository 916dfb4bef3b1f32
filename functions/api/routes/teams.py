"""Teams, their members, and roles (system roles and the team's own)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from api.context import authorize, error_responses, json_response, ok_response
from api.routes.access import EMAIL_PATTERN
from api.schemas import Envelope
from dumont_core.access.factory import access_service
from dumont_core.access.permissions import PERMISSIONS
from dumont_core.access.service import MemberView, RoleView, TeamView

router = APIGatewayRouter()

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


class TeamOut(BaseModel):
    id: str
    name: str
    plan: str
    role: str = Field(description="Your role in this team")
    current: bool = Field(description="Whether the credential you called with acts in this team")


class MemberOut(BaseModel):
    account_id: str
    email: str
    role: str
    joined_at: datetime


class TeamDetailOut(TeamOut):
    created_at: datetime
    members: list[MemberOut]


class RoleOut(BaseModel):
    name: str
    description: str | None
    permissions: list[str]
    system: bool = Field(description="System roles are the same in every team and cannot be changed")


class NewTeamBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, examples=["ML research"])


class NewMemberBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, pattern=EMAIL_PATTERN, description="A registered account's email")
    role: RoleName = "developer"


class RoleChangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: RoleName


class NewRoleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=ROLE_NAME_PATTERN, examples=["operator"])
    description: str | None = Field(default=None, max_length=200)
    permissions: list[str] = Field(
        min_length=1,
        max_length=len(PERMISSIONS),
        description="Any of: " + ", ".join(f"`{name}`" for name in PERMISSIONS),
        examples=[["instances.view", "instances.operate"]],
    )


def _team_out(view: TeamView) -> TeamOut:
    return TeamOut(id=view.team_id, name=view.name, plan=view.plan, role=view.role, current=view.current)


def _member_out(view: MemberView) -> MemberOut:
    return MemberOut(account_id=view.account_id, email=view.email, role=view.role, joined_at=view.joined_at)


def _role_out(view: RoleView) -> RoleOut:
    return RoleOut(
        name=view.name, description=view.description, permissions=view.permissions, system=view.system
    )


@router.get(
    "/api/v1/teams",
    summary="List your teams",
    description="Every team you are a member of, with your role in each; the team your credential acts "
    "in comes first.",
    responses={**ok_response(Envelope[list[TeamOut]], "Your teams"), **error_responses(401, 403)},
    tags=["Teams"],
)
def list_teams() -> Response[str]:
    teams = access_service().teams_of(authorize(router, "team.view"))
    return json_response(Envelope[list[TeamOut]](data=[_team_out(team) for team in teams]))


@router.post(
    "/api/v1/teams",
    summary="Create a team",
    description="You become its admin. Log in with its `team_id` to act in it.",
    responses={**ok_response(Envelope[TeamOut], "The new team", 201), **error_responses(400, 401, 403)},
    tags=["Teams"],
)
def create_team(body: Annotated[NewTeamBody, Body(embed=False)]) -> Response[str]:
    team = access_service().create_team(authorize(router, "teams.create"), body.name)
    return json_response(Envelope[TeamOut](data=_team_out(team)), 201)


@router.get(
    "/api/v1/teams/<team_id>",
    summary="Get a team and its members",
    responses={**ok_response(Envelope[TeamDetailOut], "The team"), **error_responses(401, 403, 404)},
    tags=["Teams"],
)
def get_team(team_id: TeamId) -> Response[str]:
    detail = access_service().team(authorize(router, "team.view"), team_id)
    out = TeamDetailOut(
        **_team_out(detail.team).model_dump(),
        created_at=detail.created_at,
        members=[_member_out(member) for member in detail.members],
    )
    return json_response(Envelope[TeamDetailOut](data=out))


@router.get(
    "/api/v1/teams/<team_id>/members",
    summary="List a team's members",
    responses={
        **ok_response(Envelope[list[MemberOut]], "Members, first joined first"),
        **error_responses(401, 403, 404),
    },
    tags=["Teams"],
)
def list_members(team_id: TeamId) -> Response[str]:
    detail = access_service().team(authorize(router, "team.view"), team_id)
    return json_response(Envelope[list[MemberOut]](data=[_member_out(member) for member in detail.members]))


@router.post(
    "/api/v1/teams/<team_id>/members",
    summary="Add a member",
    description="Adds a registered account with a role (default `developer`). Needs `team.manage`, with a "
    "credential acting in this team.",
    responses={
        **ok_response(Envelope[MemberOut], "The new member", 201),
        **error_responses(400, 401, 403, 404, 409),
    },
    tags=["Teams"],
)
def add_member(team_id: TeamId, body: Annotated[NewMemberBody, Body(embed=False)]) -> Response[str]:
    member = access_service().add_member(authorize(router, "team.manage"), team_id, body.email, body.role)
    return json_response(Envelope[MemberOut](data=_member_out(member)), 201)


@router.patch(
    "/api/v1/teams/<team_id>/members/<account_id>",
    summary="Change a member's role",
    description="Takes effect on the member's next request, whatever credential they use. A team keeps "
    "at least one admin.",
    responses={**ok_response(Envelope[MemberOut], "The member"), **error_responses(400, 401, 403, 404, 409)},
    tags=["Teams"],
)
def change_member_role(
    team_id: TeamId, account_id: AccountId, body: Annotated[RoleChangeBody, Body(embed=False)]
) -> Response[str]:
    member = access_service().change_member_role(
        authorize(router, "team.manage"), team_id, account_id, body.role
    )
    return json_response(Envelope[MemberOut](data=_member_out(member)))


@router.delete(
    "/api/v1/teams/<team_id>/members/<account_id>",
    summary="Remove a member",
    description="Their tokens and API keys stop working in this team at once. A team keeps at least one "
    "admin.",
    responses={
        **ok_response(Envelope[MemberOut], "The removed member"),
        **error_responses(401, 403, 404, 409),
    },
    tags=["Teams"],
)
def remove_member(team_id: TeamId, account_id: AccountId) -> Response[str]:
    member = access_service().remove_member(authorize(router, "team.manage"), team_id, account_id)
    return json_response(Envelope[MemberOut](data=_member_out(member)))


@router.get(
    "/api/v1/roles",
    summary="List roles",
    description="The system roles and the roles your team made, with their permissions.",
    responses={**ok_response(Envelope[list[RoleOut]], "Roles"), **error_responses(401, 403)},
    tags=["Teams"],
)
def list_roles() -> Response[str]:
    roles = access_service().roles(authorize(router, "team.view"))
    return json_response(Envelope[list[RoleOut]](data=[_role_out(role) for role in roles]))


@router.post(
    "/api/v1/roles",
    summary="Create a role",
    description="A role of your team, made of permissions; give it to members by name.",
    responses={**ok_response(Envelope[RoleOut], "The new role", 201), **error_responses(400, 401, 403, 409)},
    tags=["Teams"],
)
def create_role(body: Annotated[NewRoleBody, Body(embed=False)]) -> Response[str]:
    role = access_service().create_role(
        authorize(router, "team.manage"), body.name, body.permissions, body.description
    )
    return json_response(Envelope[RoleOut](data=_role_out(role)), 201)
