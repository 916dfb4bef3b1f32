"""Teams and their members (`/api/v1/teams…`), and roles (`/api/v1/roles`)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import Envelope
from api.teams.schemas import (
    AccountId,
    MemberView,
    NewMemberRequest,
    NewRoleRequest,
    NewTeamRequest,
    PlanChangeRequest,
    PlanChangeView,
    RoleChangeRequest,
    RoleView,
    TeamDetailView,
    TeamId,
    TeamView,
)
from dumont_core import composition
from dumont_core.access.models import TeamView as Team
from dumont_core.access.permissions import OPERATOR_PERMISSION

routes = DomainRoutes(tag="Teams")


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


@routes.operation(
    "GET",
    "/api/v1/teams/{team_id}",
    Envelope[TeamDetailView],
    "team.view",
    errors=(404,),
    permission_in_path_team=True,
)
def get_team(caller: Caller, team_id: TeamId) -> Response[str]:
    """Get a team and its members

    Needs `team.view` in this team, with any credential of yours: your role in the team of the path
    decides."""
    detail = composition.teams().team(caller, team_id)
    view = TeamDetailView.model_validate(
        {**detail.team.model_dump(), "created_at": detail.created_at, "members": detail.members}
    )
    return json_response(Envelope[TeamDetailView](data=view))


@routes.operation(
    "PATCH",
    "/api/v1/teams/{team_id}/plan",
    Envelope[PlanChangeView],
    OPERATOR_PERMISSION,
    errors=(400, 404, 409),
)
def change_plan(
    caller: Caller, team_id: TeamId, body: Annotated[PlanChangeRequest, Body(embed=False)]
) -> Response[str]:
    """Change a team's plan

    For the deployment's operators (the bootstrap account), whom no team role makes: put any team on
    Free, Pro or Enterprise. Every member's rate limits follow from their next request, and in AWS their
    API Gateway keys move to the plan's usage plan at once. Asking for the plan the team is on changes
    nothing (`changed: false`)."""
    change = composition.teams().change_plan(team_id, body.plan.strip().lower())
    return json_response(Envelope[PlanChangeView](data=PlanChangeView.model_validate(change)))


@routes.operation(
    "GET",
    "/api/v1/teams/{team_id}/members",
    Envelope[list[MemberView]],
    "team.view",
    errors=(404,),
    permission_in_path_team=True,
)
def list_members(caller: Caller, team_id: TeamId) -> Response[str]:
    """List a team's members

    Needs `team.view` in this team: your role in the team of the path decides, as for `GET
    /api/v1/teams/{team_id}`."""
    detail = composition.teams().team(caller, team_id)
    return json_response(Envelope[list[MemberView]].model_validate({"data": detail.members}))


@routes.operation(
    "POST",
    "/api/v1/teams/{team_id}/members",
    Envelope[MemberView],
    "team.manage",
    status=201,
    errors=(400, 404, 409),
    permission_in_path_team=True,
)
def add_member(
    caller: Caller, team_id: TeamId, body: Annotated[NewMemberRequest, Body(embed=False)]
) -> Response[str]:
    """Add a member

    Adds a registered account with a role (default `developer`). Needs `team.manage` in this team, with
    any credential of yours: your role in the team of the path decides."""
    member = composition.teams().add_member(caller, team_id, body.email, body.role)
    return json_response(Envelope[MemberView](data=MemberView.model_validate(member)), 201)


@routes.operation(
    "PATCH",
    "/api/v1/teams/{team_id}/members/{account_id}",
    Envelope[MemberView],
    "team.manage",
    errors=(400, 404, 409),
    permission_in_path_team=True,
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
    permission_in_path_team=True,
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
