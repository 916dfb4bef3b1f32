"""A team's plan changed by an operator: its members' limits follow from their next request, their API
Gateway keys move to the plan's usage plan, and asking again changes nothing."""

from __future__ import annotations

import boto3
import pytest

from dumont_core.access.service import AccessService
from dumont_core.access.teams import TeamService
from dumont_core.platform.errors import NotFound, ValidationFailed
from tests.integration.access.conftest import PASSWORD
from tests.integration.access.test_access_service import admitted, owner_of
from tests.integration.conftest import REGION


def keys_in(usage_plan_id: str) -> set[str]:
    apigateway = boto3.client("apigateway", region_name=REGION)
    return {key["value"] for key in apigateway.get_usage_plan_keys(usagePlanId=usage_plan_id)["items"]}


def test_a_plan_change_moves_every_member_s_limits_and_gateway_key_at_once(
    access: AccessService, teams: TeamService, usage_plans: dict[str, str]
) -> None:
    owner, owner_token = owner_of(access, "plan-owner@example.com")
    owner_of(access, "plan-member@example.com")
    teams.add_member(owner, owner.team_id, "plan-member@example.com", "developer")
    member_token = access.login("plan-member@example.com", PASSWORD, team_id=owner.team_id).access_token
    before = admitted(access, owner_token)
    assert before.rate.limit == 60
    free_keys = keys_in(usage_plans["free"])
    team_keys = {before.usage_key, admitted(access, member_token).usage_key}
    assert team_keys <= free_keys

    change = teams.change_plan(owner.team_id, "pro")

    assert (change.previous_plan, change.plan, change.changed) == ("free", "pro", True)
    assert (change.requests_per_minute, change.requests_per_day, change.members) == (300, 10_000, 2)
    owner_now, member_now = admitted(access, owner_token), admitted(access, member_token)
    assert owner_now.rate.limit == 300 and member_now.rate.limit == 300, "the very next request"
    assert owner_now.principal.plan == "pro"
    assert team_keys <= keys_in(usage_plans["pro"])
    assert not team_keys & keys_in(usage_plans["free"])
    assert keys_in(usage_plans["free"]) == free_keys - team_keys, "other teams' keys stay"
    [view] = [team for team in teams.teams_of(owner) if team.team_id == owner.team_id]
    assert view.plan == "pro"

    teams.change_plan(owner.team_id, "enterprise")
    assert admitted(access, owner_token).rate.limit == 1_000
    assert team_keys <= keys_in(usage_plans["enterprise"])
    assert not team_keys & keys_in(usage_plans["pro"])


def test_asking_for_the_plan_the_team_is_on_changes_nothing(
    access: AccessService, teams: TeamService, usage_plans: dict[str, str]
) -> None:
    owner, token = owner_of(access, "plan-same@example.com", plan="pro")

    first = teams.change_plan(owner.team_id, "pro")
    again = teams.change_plan(owner.team_id, "pro")

    assert (first.changed, again.changed) == (False, False)
    assert admitted(access, token).rate.limit == 300
    assert keys_in(usage_plans["pro"]) >= {admitted(access, token).usage_key}


def test_a_new_member_joins_on_the_team_s_new_plan(access: AccessService, teams: TeamService) -> None:
    owner, _ = owner_of(access, "plan-later@example.com")
    teams.change_plan(owner.team_id, "pro")
    owner_of(access, "plan-newcomer@example.com")
    teams.add_member(owner, owner.team_id, "plan-newcomer@example.com", "viewer")

    token = access.login("plan-newcomer@example.com", PASSWORD, team_id=owner.team_id).access_token
    assert admitted(access, token).rate.limit == 300


def test_an_unknown_plan_or_team_is_refused_and_nothing_changes(
    access: AccessService, teams: TeamService
) -> None:
    owner, token = owner_of(access, "plan-bad@example.com")

    with pytest.raises(ValidationFailed, match="plans are free, pro, enterprise"):
        teams.change_plan(owner.team_id, "platinum")
    with pytest.raises(NotFound) as missing:
        teams.change_plan("team_nope", "pro")

    assert missing.value.code == "TEAM_NOT_FOUND"
    assert admitted(access, token).rate.limit == 60
