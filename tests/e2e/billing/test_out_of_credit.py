"""A team whose balance reaches zero has its running instances hibernated, never destroyed; after a top-up
they wake and run again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dumont_core import composition
from dumont_core.billing.models import ChargeSlice, EntryKind, LedgerEntry
from local_stack.stack import LocalStack
from tests.e2e.access.conftest import login, register
from tests.e2e.billing.test_billing import BODY, balance
from tests.e2e.conftest import eventually, wait_for_status

pytestmark = pytest.mark.e2e


def spend_all_but(team_id: str, dollars: float) -> None:
    """Charge the team down to `dollars` at once: hours of a machine's use, without waiting for them."""
    repository = composition.billing_repository()
    left = repository.balance(team_id).balance_micros - round(dollars * 1_000_000)
    before = repository.mark(team_id, "inst_earlier_use")
    now = datetime.now(UTC)
    after = before.model_copy(
        update={"settled_micros": left, "settled_seconds": 3600.0, "settled_at": now, "version": 1}
    )
    line = LedgerEntry(
        team_id=team_id,
        kind=EntryKind.CHARGE,
        day=now.date().isoformat(),
        entry_id="inst_earlier_use",
        amount_micros=0,
        instance_id="inst_earlier_use",
        updated_at=now,
    )
    repository.settle(before, after, [ChargeSlice(day=line.day, micros=left, seconds=3600.0)], line)


def test_a_team_at_zero_is_hibernated_and_after_a_top_up_wakes_and_runs(stack: LocalStack) -> None:
    email = register(stack)
    with login(stack, email) as owner:
        created = owner.post("/api/v1/teams", json={"name": "runs out"})
        assert created.status_code == 201, created.text
        team_id = created.json()["data"]["id"]
    with login(stack, email, team_id) as team:
        assert team.post("/api/v1/billing/add-credits", json={"amount": 5}).status_code == 200
        instance_id = team.post("/api/v1/instances", json=BODY).json()["data"]["id"]
        running = wait_for_status(team, instance_id, {"running", "failed"})
        assert running["status"] == "running", running["status_reason"]

        spend_all_but(team_id, 0.0)

        hibernated = wait_for_status(team, instance_id, {"hibernated", "failed", "deleted"}, timeout=90)
        assert hibernated["status"] == "hibernated", hibernated["status_reason"]
        assert balance(team)["balance"] <= 0
        refused = team.post(f"/api/instances/{instance_id}/wake")
        assert refused.status_code == 402, refused.text

        topped = team.post("/api/v1/billing/add-credits", json={"amount": 10})
        assert topped.status_code == 200, topped.text
        woken = team.post(f"/api/instances/{instance_id}/wake")
        assert woken.status_code == 200, woken.text
        again = wait_for_status(team, instance_id, {"running", "hibernated", "failed"}, timeout=90)
        assert again["status"] == "running", again["status_reason"]
        assert eventually(lambda: balance(team)["burn_per_hour"] > 0, seconds=20)
