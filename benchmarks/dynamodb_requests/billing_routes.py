"""The billing routes (the balance, the history with its filters, adding credits) and the savings routes,
for a fresh team, a team under its threshold or at zero, and a team with a year of history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from benchmarks.dynamodb_requests.client import BenchClient
from dumont_core import composition
from dumont_core.billing.models import ChargeSlice, EntryKind, LedgerEntry

HISTORY_DAYS = 365


def exercise_billing(client: BenchClient, instance_id: str) -> None:
    """While `instance_id` has been charged: its team's balance, history and a top-up."""
    client.measure("GET", "/api/v1/balance")
    client.measure("GET", "/api/v1/billing/history")
    client.measure(
        "GET",
        "/api/v1/billing/history",
        case="?instance_id, a period",
        query={"instance_id": instance_id, "since": "2020-01-01", "until": "2099-12-31"},
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
    client.measure("PATCH", "/api/v1/billing/settings", body={"low_balance_threshold": 15})
    client.measure(
        "PATCH", "/api/v1/billing/settings", case="the default", body={"low_balance_threshold": None}
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
    client.measure("GET", "/api/savings/comparison/A100", case="never rented: the market's price")
    client.measure("GET", "/api/savings/comparison/GTX_9", case="unknown GPU", expected_status=400)


def _current_team(client: BenchClient) -> str:
    """The bench's team, read unmeasured."""
    teams = client.request("GET", "/api/v1/teams").json()["data"]
    return str(next(team["id"] for team in teams if team["current"]))


def _charge(team_id: str, instance_id: str, day: datetime, micros: int) -> None:
    """Charge the team `micros` on `day` for an instance of its history, as a settlement would."""
    repository = composition.billing_repository()
    before = repository.mark(team_id, instance_id)
    after = before.model_copy(
        update={
            "settled_micros": before.settled_micros + micros,
            "settled_seconds": before.settled_seconds + 3600,
            "settled_at": day,
            "version": before.version + 1,
        }
    )
    line = LedgerEntry(
        team_id=team_id,
        kind=EntryKind.CHARGE,
        day=day.date().isoformat(),
        entry_id=instance_id,
        amount_micros=0,
        instance_id=instance_id,
        gpu_type="RTX_4090",
        num_gpus=1,
        price_per_hour=micros / 1_000_000,
        updated_at=day,
    )
    repository.settle(before, after, [ChargeSlice(day=line.day, micros=micros, seconds=3600)], line)


def _spend_down_to(team_id: str, account_id: str, dollars: float) -> None:
    """Leave the team `dollars` (and the warnings a charge gives), without waiting for a machine to."""
    balance = composition.billing_repository().balance(team_id).balance_micros
    _charge(team_id, "inst_bench_spending", datetime.now(UTC), balance - round(dollars * 1_000_000))
    composition.meter().check_balance(team_id, account_id)


def _a_year_of_history(team_id: str) -> None:
    """An hour of an RTX 4090 every day for a year, and a credit every month."""
    repository = composition.billing_repository()
    start = datetime.now(UTC) - timedelta(days=HISTORY_DAYS)
    for day in range(HISTORY_DAYS):
        at = start + timedelta(days=day)
        _charge(team_id, f"inst_bench_{day // 30}", at, 400_000)
        if day % 30 == 0:
            entry = LedgerEntry(
                team_id=team_id,
                kind=EntryKind.CREDIT,
                day=at.date().isoformat(),
                entry_id=f"{at.isoformat()}#bench",
                amount_micros=20_000_000,
                payment_id=f"bench-{day}",
                updated_at=at,
            )
            repository.credit(entry)


def exercise_billing_with_history(client: BenchClient) -> None:
    """Once the bench's machines are gone: top-ups of a team under its threshold and at zero, then every
    read of a team with a year of history."""
    team_id = _current_team(client)
    account_id = "bench"  # only named in the warnings' events
    _spend_down_to(team_id, account_id, 5)
    client.measure(
        "POST", "/api/v1/billing/add-credits", case="a team under its threshold", body={"amount": 1}
    )
    _spend_down_to(team_id, account_id, -1)
    client.measure("POST", "/api/v1/billing/add-credits", case="a team at zero", body={"amount": 50})
    _a_year_of_history(team_id)
    year = "a year of history"
    first = client.measure("GET", "/api/v1/billing/history", case=year).json()["meta"]
    client.measure(
        "GET",
        "/api/v1/billing/history",
        case=f"{year}, the next page",
        query={"cursor": first["next_cursor"]},
    )
    client.measure(
        "GET",
        "/api/v1/billing/history",
        case=f"{year}, a period",
        query={"since": (datetime.now(UTC) - timedelta(days=200)).date().isoformat()},
    )
    client.measure("GET", "/api/v1/balance", case=year)
    client.measure("GET", "/api/savings/dashboard", case=year)
    client.measure("GET", "/api/savings/summary", case=f"{year}, ?period=year", query={"period": "year"})
    client.measure("GET", "/api/savings/history", case=f"{year}, ?months=12", query={"months": "12"})
    client.measure("GET", "/api/savings/breakdown", case=f"{year}, ?period=week", query={"period": "week"})
    client.measure("GET", "/api/savings/comparison/RTX_4090", case=year)
