"""A team's plan over HTTP: the operator changes it and every member's limits follow on their next
request; no team admin can change it; an unknown plan or team is refused with the error envelope."""

from __future__ import annotations

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.access.conftest import current_team, login, new_member, register

pytestmark = pytest.mark.e2e


def limit(client: httpx.Client) -> int:
    response = client.get("/api/v1/teams")
    assert response.status_code == 200, response.text
    return int(response.headers["X-RateLimit-Limit"])


def test_the_operator_changes_a_team_s_plan_and_its_members_limits_follow_at_once(
    stack: LocalStack, api: httpx.Client
) -> None:
    with login(stack, register(stack)) as admin:
        team_id = current_team(admin)
        with new_member(stack, admin, team_id, "developer") as developer:
            assert (limit(admin), limit(developer)) == (60, 60)

            refused = admin.patch(f"/api/v1/teams/{team_id}/plan", json={"plan": "enterprise"})
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["details"]["permission"] == "credits.grant"

            changed = api.patch(f"/api/v1/teams/{team_id}/plan", json={"plan": "Pro"})
            assert changed.status_code == 200, changed.text
            data = changed.json()["data"]
            assert (data["previous_plan"], data["plan"], data["changed"]) == ("free", "pro", True)
            assert (data["requests_per_minute"], data["requests_per_day"], data["members"]) == (
                300,
                10_000,
                2,
            )

            assert (limit(admin), limit(developer)) == (300, 300), "their very next requests"
            [team] = [team for team in admin.get("/api/v1/teams").json()["data"] if team["id"] == team_id]
            assert team["plan"] == "pro"

            again = api.patch(f"/api/v1/teams/{team_id}/plan", json={"plan": "pro"})
            assert again.status_code == 200, again.text
            assert again.json()["data"]["changed"] is False


def test_an_unknown_plan_or_team_gets_the_error_envelope(stack: LocalStack, api: httpx.Client) -> None:
    with login(stack, register(stack)) as admin:
        team_id = current_team(admin)

    unknown_plan = api.patch(f"/api/v1/teams/{team_id}/plan", json={"plan": "platinum"})
    assert unknown_plan.status_code == 400, unknown_plan.text
    error = unknown_plan.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "free, pro, enterprise" in error["message"]
    assert error["details"]["fields"][0]["field"] == "plan"

    unknown_team = api.patch("/api/v1/teams/team_nobody/plan", json={"plan": "pro"})
    assert unknown_team.status_code == 404, unknown_team.text
    assert unknown_team.json()["error"]["code"] == "TEAM_NOT_FOUND"

    no_plan = api.patch(f"/api/v1/teams/{team_id}/plan", json={})
    assert no_plan.status_code == 400, no_plan.text
