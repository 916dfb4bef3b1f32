"""Money end to end: a sign-up's trial credit, a team with too little credit refused with 402 and nothing
rented, renting after a top-up, and its balance falling by what its machine costs."""

from __future__ import annotations

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.access.conftest import login, register
from tests.e2e.conftest import eventually, machines_for, wait_for_status

pytestmark = pytest.mark.e2e

BODY = {"gpu_type": "RTX_4090", "image": "pytorch/pytorch:2.0-cuda12.1", "disk_gb": 50}


def balance(client: httpx.Client) -> dict[str, float]:
    response = client.get("/api/v1/balance")
    assert response.status_code == 200, response.text
    data: dict[str, float] = response.json()["data"]
    return data


def test_a_sign_up_starts_with_the_trial_credit(stack: LocalStack) -> None:
    trial_credit = stack.config.trial_credit_usd
    with login(stack, register(stack)) as client:
        assert balance(client)["balance"] == trial_credit
        history = client.get("/api/v1/billing/history").json()
    [trial] = history["data"]
    assert (trial["kind"], trial["source"], trial["amount"]) == ("credit", "trial", trial_credit)


def test_a_team_without_credit_is_refused_then_rents_after_a_top_up_and_pays_for_its_machine(
    stack: LocalStack,
) -> None:
    email = register(stack)
    with login(stack, email) as owner:
        created = owner.post("/api/v1/teams", json={"name": "no credit yet"})
        assert created.status_code == 201, created.text
        team_id = created.json()["data"]["id"]
    with login(stack, email, team_id) as team:
        assert balance(team)["balance"] == 0.0

        refused = team.post("/api/v1/instances", json=BODY)
        assert refused.status_code == 402, refused.text
        error = refused.json()["error"]
        assert error["code"] == "INSUFFICIENT_BALANCE"
        assert error["details"]["balance"] == 0.0
        assert team.get("/api/v1/instances").json()["meta"]["total"] == 0, "nothing recorded"

        # A cent is a balance, but not an hour of any RTX 4090 the marketplace offers.
        assert team.post("/api/v1/billing/add-credits", json={"amount": 0.01}).status_code == 200
        refused = team.post("/api/v1/instances", json=BODY)
        assert refused.status_code == 402, refused.text
        details = refused.json()["error"]["details"]
        assert details["balance"] == 0.01
        assert details["needed"] > 0.01, "an hour of the offer it would rent"
        assert team.get("/api/v1/instances").json()["meta"]["total"] == 0, "nothing recorded"

        topped = team.post("/api/v1/billing/add-credits", json={"amount": 4.99})
        assert topped.status_code == 200, topped.text
        assert topped.json()["data"]["status"] == "confirmed"
        assert topped.json()["data"]["balance"] == 5.0

        created = team.post("/api/v1/instances", json=BODY)
        assert created.status_code == 201, created.text
        instance_id = created.json()["data"]["id"]
        running = wait_for_status(team, instance_id, {"running", "failed"})
        assert running["status"] == "running", running["status_reason"]
        assert len(machines_for(stack, instance_id)) == 1
        assert balance(team)["burn_per_hour"] == pytest.approx(running["cost_per_hour"])

        assert eventually(lambda: balance(team)["balance"] < 5.0, seconds=20), "the schedule charges it"
        stopped = team.post(f"/api/v1/instances/{instance_id}/stop")
        assert stopped.status_code == 202, stopped.text
        wait_for_status(team, instance_id, {"stopped"})
        after_stop = balance(team)["balance"]
        history = team.get("/api/v1/billing/history", params={"instance_id": instance_id}).json()
        charged = sum(line["amount"] for line in history["data"])
        assert charged == pytest.approx(5.0 - after_stop, abs=1e-5)
        assert history["meta"]["total_charged"] == pytest.approx(charged, abs=1e-5)
        seconds = sum(line["hours"] for line in history["data"]) * 3600
        assert charged == pytest.approx(seconds * running["cost_per_hour"] / 3600, abs=1e-5)


def test_the_operator_grants_credits_to_any_team_and_no_team_admin_can(
    stack: LocalStack, api: httpx.Client
) -> None:
    email = register(stack)
    with login(stack, email) as admin:
        team_id = next(team["id"] for team in admin.get("/api/v1/teams").json()["data"] if team["current"])
        refused = admin.post("/api/v1/billing/grants", json={"team_id": team_id, "amount": 100})
        assert refused.status_code == 403, refused.text

        before = balance(admin)["balance"]
        granted = api.post(
            "/api/v1/billing/grants", json={"team_id": team_id, "amount": 100, "note": "Q1 budget"}
        )
        assert granted.status_code == 201, granted.text
        assert granted.json()["data"]["balance"] is None, (
            "another team's balance is not the operator's to read"
        )

        assert balance(admin)["balance"] == before + 100
        [grant, _trial] = admin.get("/api/v1/billing/history").json()["data"]
        assert (grant["source"], grant["amount"], grant["description"]) == ("grant", 100.0, "Q1 budget")

    unknown = api.post("/api/v1/billing/grants", json={"team_id": "team_nobody", "amount": 5})
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error"]["code"] == "TEAM_NOT_FOUND"
