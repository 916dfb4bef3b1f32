"""Requests and answers of the team, member and role routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import AliasChoices, Field

from api.schemas import EmailToLookUp, RequestBody, View
from dumont_core.access.permissions import PERMISSIONS

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
    email: EmailToLookUp = Field(description="A registered account's email")
    role: RoleName = "developer"


class PlanChangeRequest(RequestBody):
    plan: str = Field(
        min_length=1,
        max_length=32,
        description="`free`, `pro` or `enterprise` (any case)",
        examples=["pro"],
    )


class PlanChangeView(View):
    """A team's plan after the change, and the limits each of its members has from their next request."""

    team_id: str
    plan: str
    previous_plan: str
    changed: bool = Field(description="False when the team was already on this plan: nothing changed")
    requests_per_minute: int
    requests_per_day: int | None = Field(description="null: no daily cap")
    members: int = Field(description="Members whose limits and API Gateway keys moved to the plan")


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
