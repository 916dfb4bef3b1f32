"""Letting requests in: the plan's windows, quotas, keys and seats, against a real table (moto)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from dumont_core.access.models import Admission
from dumont_core.access.repository import seat_key
from dumont_core.access.service import AccessService
from dumont_core.access.teams import TeamService
from dumont_core.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from dumont_core.platform.identity import Principal
from tests.fakes.api_gateway import answer_body, rest_event
from tests.fakes.clock import Clock
from tests.integration.access.conftest import PASSWORD
from tests.integration.conftest import REGION, TABLE_NAME, ApiFunction


def owner_of(access: AccessService, email: str, plan: str = "free") -> tuple[Principal, str]:
    """A new account's admin principal and an access token for it."""
    account = access.register(email, PASSWORD, plan=plan)
    token = access.login(email, PASSWORD).access_token
    admitted = access.admit(token)
    assert admitted is not None
    assert admitted.principal.account_id == account.account_id
    return admitted.principal, token


def admitted(access: AccessService, credential: str) -> Admission:
    admission = access.admit(credential)
    assert admission is not None
    return admission


def seat_attributes(team_id: str, account_id: str) -> dict[str, Any]:
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE_NAME, Key=seat_key(team_id, account_id)
    )["Item"]
    return dict(item)


def set_day_limit(team_id: str, account_id: str, limit: int) -> None:
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=TABLE_NAME,
        Key=seat_key(team_id, account_id),
        UpdateExpression="SET day_limit = :limit",
        ExpressionAttributeValues={":limit": {"N": str(limit)}},
    )


def test_the_minute_window_holds_at_its_limit_and_starts_over(access: AccessService, clock: Clock) -> None:
    clock.now = clock.now.replace(second=0, microsecond=0)
    _, token = owner_of(access, "minute@example.com")  # the owner_of check is request 1
    remaining = [admitted(access, token).rate.remaining for _ in range(59)]
    assert remaining == list(range(58, -1, -1))
    refused = admitted(access, token)
    assert refused.rate.limited and refused.rate.remaining == 0
    assert refused.rate.retry_after(clock.now) == 60
    assert refused.rate.reset_at == int(clock.now.timestamp()) + 60

    clock.advance(seconds=59)
    assert admitted(access, token).rate.retry_after(clock.now) == 1
    clock.advance(seconds=1)
    fresh = admitted(access, token)
    assert not fresh.rate.limited
    assert fresh.rate.remaining == 59


def test_past_windows_leave_no_counters_behind(access: AccessService, clock: Clock) -> None:
    principal, token = owner_of(access, "tidy@example.com")
    for _ in range(5):
        admitted(access, token)
        clock.advance(minutes=3)
    admitted(access, token)
    counters = [
        name for name in seat_attributes(principal.team_id, principal.account_id) if name.startswith("rl_")
    ]
    assert len(counters) <= 4, counters


def test_the_daily_quota_is_reported_when_it_is_nearer_and_refuses_past_it(
    access: AccessService, clock: Clock
) -> None:
    principal, token = owner_of(access, "daily@example.com")
    set_day_limit(principal.team_id, principal.account_id, 3)
    nearer = admitted(access, token)
    assert (nearer.rate.limit, nearer.rate.remaining) == (3, 1)
    assert nearer.rate.reset_at % 86_400 == 0
    admitted(access, token)
    clock.advance(minutes=5)
    refused = admitted(access, token)
    assert refused.rate.limited and refused.rate.limit == 3
    assert refused.rate.reset_at == (int(clock.now.timestamp()) // 86_400 + 1) * 86_400
    clock.advance(hours=24)
    assert not admitted(access, token).rate.limited


def test_enterprise_has_no_daily_cap(access: AccessService) -> None:
    _, token = owner_of(access, "big@example.com", plan="enterprise")
    rate = admitted(access, token).rate
    assert (rate.limit, rate.remaining) == (1000, 998)


def test_a_revoked_key_and_a_forged_key_are_refused_at_once(access: AccessService) -> None:
    principal, _ = owner_of(access, "keys@example.com")
    created = access.create_api_key(principal, "ci")
    assert admitted(access, created.key).principal.key_id == created.view.key_id
    forged = created.key[:-6] + ("0" * 6 if not created.key.endswith("0" * 6) else "1" * 6)
    assert access.admit(forged) is None
    assert access.admit("dumont_sk_" + "ab" * 30) is None
    assert access.list_api_keys(principal)[0].last_used_at is not None
    access.revoke_api_key(principal, created.view.key_id)
    assert access.admit(created.key) is None
    assert access.list_api_keys(principal) == []


def test_a_removed_member_and_a_changed_role_take_effect_on_the_next_request(
    access: AccessService, teams: TeamService
) -> None:
    owner, _ = owner_of(access, "owner@example.com")
    access.register("member@example.com", PASSWORD)
    member = teams.add_member(owner, owner.team_id, "member@example.com", "viewer")
    token = access.login("member@example.com", PASSWORD, team_id=owner.team_id).access_token
    as_viewer = admitted(access, token).principal
    assert as_viewer.may("instances.view") and not as_viewer.may("instances.create")
    key = access.create_api_key(as_viewer, "reader").key

    teams.change_member_role(owner, owner.team_id, member.account_id, "developer")
    assert admitted(access, token).principal.may("instances.create")
    assert admitted(access, key).principal.role == "developer"

    teams.remove_member(owner, owner.team_id, member.account_id)
    assert access.admit(token) is None
    assert access.admit(key) is None
    assert boto3.client("apigateway", region_name=REGION).get_api_keys()["items"], "owners keep theirs"


def test_a_team_keeps_an_admin(access: AccessService, teams: TeamService) -> None:
    owner, _ = owner_of(access, "solo@example.com")
    with pytest.raises(Conflict):
        teams.remove_member(owner, owner.team_id, owner.account_id)
    with pytest.raises(Conflict):
        teams.change_member_role(owner, owner.team_id, owner.account_id, "viewer")


def test_members_are_managed_by_the_caller_s_role_in_the_team_named(
    access: AccessService, teams: TeamService
) -> None:
    owner, _ = owner_of(access, "a@example.com")
    stranger, _ = owner_of(access, "b@example.com")
    with pytest.raises(NotFound) as not_found:
        teams.add_member(stranger, owner.team_id, "b@example.com", "admin")
    assert not_found.value.code == "TEAM_NOT_FOUND"
    team = teams.create_team(owner, "Second")

    # Seed 000's flow: the credential acts in the owner's first team; they are admin of the second.
    added = teams.add_member(owner, team.team_id, "b@example.com", "viewer")
    assert added.role == "viewer"
    with pytest.raises(Forbidden) as refused:
        teams.add_member(stranger, team.team_id, "c@example.com", "viewer")
    assert refused.value.details["role"] == "viewer", "their role in that team decides, not their own team's"


def test_a_team_is_read_with_the_caller_s_role_in_the_team_of_the_path(
    access: AccessService, teams: TeamService, api_function: ApiFunction
) -> None:
    lead, _ = owner_of(access, "lead@example.com")
    member, _ = owner_of(access, "member@example.com")  # admin of their own team
    teams.create_role(lead, "operator", ["instances.view", "instances.operate"], None)
    teams.add_member(lead, lead.team_id, "member@example.com", "operator")
    in_lead_team = admitted(
        access, access.login("member@example.com", PASSWORD, team_id=lead.team_id).access_token
    ).principal

    def read(principal: Principal, team_id: str, route: str) -> dict[str, Any]:
        return api_function(rest_event("GET", route, {"team_id": team_id}, principal=principal))

    for route in ("/api/v1/teams/{team_id}", "/api/v1/teams/{team_id}/members"):
        # Their own team's admin credential: the operator role they hold in the lead's team decides.
        refused = read(member, lead.team_id, route)
        assert refused["statusCode"] == 403, refused["body"]
        assert answer_body(refused)["error"]["details"] == {
            "permission": "team.view",
            "role": "operator",
            "team_id": lead.team_id,
        }
        # Logged in where they may not see the team, they may still see the one they administer.
        allowed = read(in_lead_team, member.team_id, route)
        assert allowed["statusCode"] == 200, allowed["body"]
    assert read(lead, lead.team_id, "/api/v1/teams/{team_id}/members")["statusCode"] == 200


def test_custom_roles_are_made_of_known_permissions(access: AccessService, teams: TeamService) -> None:
    owner, _ = owner_of(access, "roles@example.com")
    role = teams.create_role(owner, "operator", ["instances.view", "instances.operate"], None)
    assert role.permissions == ["instances.operate", "instances.view"]
    assert [role.name for role in teams.roles(owner)] == ["admin", "developer", "viewer", "operator"]
    with pytest.raises(Conflict):
        teams.create_role(owner, "operator", ["instances.view"], None)
    with pytest.raises(Conflict):
        teams.create_role(owner, "viewer", ["instances.view"], None)
    with pytest.raises(ValidationFailed, match=r"Unknown permissions: instances\.explode"):
        teams.create_role(owner, "bad", ["instances.explode"], None)


def test_each_member_gets_an_api_gateway_key_in_the_plan_usage_plan(
    access: AccessService, usage_plans: dict[str, str]
) -> None:
    owner, _ = owner_of(access, "usage@example.com", plan="pro")
    usage_key = admitted(access, access.login("usage@example.com", PASSWORD).access_token).usage_key
    apigateway = boto3.client("apigateway", region_name=REGION)
    keys = apigateway.get_usage_plan_keys(usagePlanId=usage_plans["pro"])["items"]
    assert [key["value"] for key in keys] == [usage_key]
    assert not apigateway.get_usage_plan_keys(usagePlanId=usage_plans["free"])["items"]
    assert owner.plan == "pro"


def test_a_removed_member_s_old_tokens_stay_dead_after_a_re_add(
    access: AccessService, teams: TeamService
) -> None:
    owner, _ = owner_of(access, "readd-owner@example.com")
    member_own_team, own_token = owner_of(access, "readd-member@example.com")
    member = teams.add_member(owner, owner.team_id, "readd-member@example.com", "developer")
    old_token = access.login("readd-member@example.com", PASSWORD, team_id=owner.team_id).access_token
    assert admitted(access, old_token).principal.team_id == owner.team_id

    teams.remove_member(owner, owner.team_id, member.account_id)
    teams.add_member(owner, owner.team_id, "readd-member@example.com", "developer")

    assert access.admit(old_token) is None, "a token from before the removal"
    new_token = access.login("readd-member@example.com", PASSWORD, team_id=owner.team_id).access_token
    assert admitted(access, new_token).principal.role == "developer"
    assert admitted(access, own_token).principal.team_id == member_own_team.team_id, "other teams unaffected"
    fresh_own = access.login("readd-member@example.com", PASSWORD).access_token
    assert admitted(access, fresh_own).principal.team_id == member_own_team.team_id
