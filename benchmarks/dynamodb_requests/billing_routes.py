"""The billing routes (the balance, the history with its filters, adding credits) and the savings routes."""

from __future__ import annotations

from benchmarks.dynamodb_requests.client import BenchClient


def exercise_billing(client: BenchClient, instance_id: str) -> None:
    """While `instance_id` has been charged: its team's balance, history and a top-up."""
    client.measure("GET", "/api/v1/balance")
    client.measure("GET", "/api/v1/billing/history")
    client.measure(
        "GET",
        "/api/v1/billing/history",
        case="?instance_id, a period, page 2",
        query={"instance_id": instance_id, "since": "2020-01-01", "until": "2099-12-31", "page": "2"},
    )
    client.measure("POST", "/api/v1/billing/add-credits", body={"amount": 10})
    teams = client.measure("GET", "/api/v1/teams", case="to grant one credits").json()["data"]
    team_id = next(team["id"] for team in teams if team["current"])
    client.measure(
        "POST",
        "/api/v1/billing/grants",
        expected_status=201,
        body={"team_id": team_id, "amount": 5, "note": "bench"},
    )
    client.measure("POST", "/api/v1/billing/add-credits", case="no amount", body={}, expected_status=400)
    client.measure(
        "POST",
        "/api/v1/billing/stripe-webhook",
        case="not signed by Stripe",
        body={"type": "checkout.session.completed"},
        expected_status=400,
    )


def exercise_savings(client: BenchClient) -> None:
    """Every savings figure, bare (seed 002) and in the v1 envelope."""
    for prefix in ("/api/savings", "/api/v1/savings"):
        client.measure("GET", f"{prefix}/dashboard")
        client.measure("GET", f"{prefix}/summary", case="?period=week", query={"period": "week"})
        client.measure("GET", f"{prefix}/history", case="?months=12", query={"months": "12"})
        client.measure("GET", f"{prefix}/breakdown")
        client.measure("GET", f"{prefix}/comparison/RTX_4090")
    client.measure("GET", "/api/savings/comparison/GTX_9", case="unknown GPU", expected_status=400)
