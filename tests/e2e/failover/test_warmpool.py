"""The warm pool on the local stack: an instance with failover strategy `warmpool` keeps a stopped
standby on another host holding its last checkpoint, and, whichever way its machine is lost, runs again
on that standby with every file of its last checkpoint, under the same id, team and SSH key; the pool
is refilled, and nothing stays rented once the instance is deleted."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.conftest import (
    contents,
    eventually,
    fill_workspace,
    machine_of,
    machines_for,
    wait_for_agent,
    wait_for_snapshot,
    wait_for_status,
)
from tests.e2e.failover.conftest import event_types, events_of, failover_status, lose

pytestmark = pytest.mark.e2e

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"
FAILOVER_SECONDS = 90


def ready_standby(api: httpx.Client, instance_id: str, *, not_machine: str | None = None) -> dict[str, Any]:
    """The instance's standby once it is ready (and, with `not_machine`, another than that one)."""
    found: dict[str, Any] = {}

    def ready() -> bool:
        standby = failover_status(api, instance_id)["standby"]
        if standby and standby["state"] == "ready" and standby["machine_id"] != not_machine:
            found.update(standby)
            return True
        return False

    assert eventually(ready, seconds=60), f"{instance_id} never had a ready standby"
    return found


@pytest.fixture
def warm_instance(api: httpx.Client, create_instance: Callable[..., str]) -> Iterator[str]:
    instance_id = create_instance(
        failover_enabled=True, failover_strategy="warmpool", ssh_key=SSH_KEY, region="us-east"
    )
    assert wait_for_status(api, instance_id, {"running", "failed"})["status"] == "running"
    wait_for_agent(api, instance_id)
    yield instance_id
    api.delete(f"/api/v1/instances/{instance_id}")


@pytest.mark.parametrize("kind", ["outbid", "host_offline", "partition", "maintenance"])
def test_a_lost_machine_fails_over_onto_the_warm_standby_with_every_checkpointed_file(
    api: httpx.Client, stack: LocalStack, warm_instance: str, kind: str
) -> None:
    instance_id = warm_instance
    first_machine = machine_of(api, instance_id)
    before_detail = api.get(f"/api/v1/instances/{instance_id}").json()["data"]
    standby = ready_standby(api, instance_id)
    (parked,) = [m for m in stack.marketplace.machines() if str(m["id"]) == standby["machine_id"]]
    assert parked["intended_status"] == "stopped" and parked["actual_status"] == "stopped"
    assert 0 < standby["cost_per_hour"] < before_detail["cost_per_hour"], "a stopped standby costs its disk"
    assert parked["machine_id"] != next(
        m["machine_id"] for m in stack.marketplace.machines() if m["id"] == first_machine
    ), "the standby is on another host"
    # Written after the standby was synced: the takeover restores what changed since.
    before = fill_workspace(stack.machine_agents.workspace(first_machine))
    checkpoint = api.post("/api/v1/snapshots", json={"instance_id": instance_id})
    assert wait_for_snapshot(api, checkpoint.json()["data"]["id"])["status"] == "completed"
    (stack.machine_agents.workspace(first_machine) / "after-the-checkpoint.txt").write_text("lost")

    lose(stack, first_machine, kind)

    assert eventually(lambda: "failover.completed" in event_types(api, instance_id), seconds=FAILOVER_SECONDS)
    after = api.get(f"/api/v1/instances/{instance_id}").json()["data"]
    assert after["status"] == "running", after["status_reason"]
    assert after["id"] == instance_id and after["failover"]["last_failover"] is not None
    assert machine_of(api, instance_id) == int(standby["machine_id"]), "it runs on its standby"
    assert after["ip_address"] == parked["public_ipaddr"]
    assert contents(stack.machine_agents.workspace(int(standby["machine_id"]))) == before
    (new_machine,) = [m for m in stack.marketplace.machines() if str(m["id"]) == standby["machine_id"]]
    assert SSH_KEY in (new_machine["onstart"] or ""), "the same SSH key opens the new machine"
    # Billed again only from the switch: the time nobody's machine ran is not on the bill.
    completed = next(event for event in events_of(api, instance_id) if event["type"] == "failover.completed")
    assert completed["details"]["strategy"] == "warmpool"
    assert completed["details"]["recovered_after_seconds"] > 0
    assert after["uptime_seconds"] <= time.time() - _epoch(completed["timestamp"]) + 2
    kinds = event_types(api, instance_id)
    assert (
        kinds.index("instance.interrupted")
        < kinds.index("failover.started")
        < kinds.index("failover.completed")
    )
    started = next(event for event in events_of(api, instance_id) if event["type"] == "failover.started")
    assert started["details"]["strategy"] == "warmpool"
    assert eventually(lambda: first_machine not in [m["id"] for m in stack.marketplace.machines()])
    # The pool is refilled with another standby.
    refilled = ready_standby(api, instance_id, not_machine=standby["machine_id"])
    assert refilled["machine_id"] != str(first_machine)
    (record,) = failover_status(api, instance_id)["history"]
    assert (record["strategy"], record["outcome"]) == ("warmpool", "completed")

    assert api.delete(f"/api/v1/instances/{instance_id}").status_code in (200, 202)
    assert wait_for_status(api, instance_id, {"deleted"})["status"] == "deleted"
    assert eventually(lambda: machines_for(stack, instance_id) == []), "the standby is given back too"


def test_a_dead_standby_is_given_back_and_the_snapshot_path_brings_the_instance_back(
    api: httpx.Client, stack: LocalStack, warm_instance: str
) -> None:
    instance_id = warm_instance
    first_machine = machine_of(api, instance_id)
    standby = ready_standby(api, instance_id)
    before = fill_workspace(stack.machine_agents.workspace(first_machine))
    checkpoint = api.post("/api/v1/snapshots", json={"instance_id": instance_id})
    assert wait_for_snapshot(api, checkpoint.json()["data"]["id"])["status"] == "completed"
    # Its standby's host goes down at the same moment as its own: the second failure midway.
    stack.marketplace.interrupt(int(standby["machine_id"]), "host_offline")
    stack.marketplace.interrupt(first_machine, "host_offline")

    assert eventually(lambda: "failover.completed" in event_types(api, instance_id), seconds=FAILOVER_SECONDS)
    back = wait_for_status(api, instance_id, {"running", "hibernated", "failed"})
    assert back["status"] == "running", back["status_reason"]
    new_machine = machine_of(api, instance_id)
    assert new_machine not in (first_machine, int(standby["machine_id"]))
    assert contents(stack.machine_agents.workspace(new_machine)) == before
    assert eventually(
        lambda: (
            not {first_machine, int(standby["machine_id"])} & {m["id"] for m in stack.marketplace.machines()}
        )
    ), "neither dead machine stays rented"


def test_a_standby_that_cannot_start_is_given_back_and_a_new_machine_takes_over(
    api: httpx.Client, stack: LocalStack, warm_instance: str
) -> None:
    instance_id = warm_instance
    first_machine = machine_of(api, instance_id)
    standby = ready_standby(api, instance_id)
    before = fill_workspace(stack.machine_agents.workspace(first_machine))
    checkpoint = api.post("/api/v1/snapshots", json={"instance_id": instance_id})
    assert wait_for_snapshot(api, checkpoint.json()["data"]["id"])["status"] == "completed"
    # The provider no longer knows the standby when it is asked to start it.
    stack.marketplace.fail_next_calls(
        "manage",
        1,
        404,
        {"success": False, "error": "no_such_instance", "msg": "Instance not found."},
        label_ending=f":{instance_id}",
    )
    stack.marketplace.interrupt(first_machine, "host_offline")

    assert eventually(lambda: "failover.completed" in event_types(api, instance_id), seconds=FAILOVER_SECONDS)
    back = api.get(f"/api/v1/instances/{instance_id}").json()["data"]
    assert back["status"] == "running", back["status_reason"]
    new_machine = machine_of(api, instance_id)
    assert new_machine not in (first_machine, int(standby["machine_id"]))
    assert contents(stack.machine_agents.workspace(new_machine)) == before
    events = events_of(api, instance_id)
    failover_events = [event for event in events if event["type"].startswith("failover.")]
    assert [(event["type"], event["details"].get("strategy")) for event in failover_events] == [
        ("failover.started", "warmpool"),
        ("failover.failed", "warmpool"),
        ("failover.started", "snapshot"),
        ("failover.completed", "snapshot"),
    ]
    history = failover_status(api, instance_id)["history"]
    assert [(record["strategy"], record["outcome"]) for record in history] == [
        ("warmpool", "failed"),
        ("snapshot", "completed"),
    ]
    assert eventually(
        lambda: (
            not {first_machine, int(standby["machine_id"])} & {m["id"] for m in stack.marketplace.machines()}
        )
    ), "neither the dead machine nor the standby stays rented"


def test_a_standby_that_dies_as_it_takes_over_is_given_back_and_a_new_machine_gets_every_file(
    api: httpx.Client, stack: LocalStack, warm_instance: str
) -> None:
    instance_id = warm_instance
    first_machine = machine_of(api, instance_id)
    standby = ready_standby(api, instance_id)
    before = fill_workspace(stack.machine_agents.workspace(first_machine))
    checkpoint = api.post("/api/v1/snapshots", json={"instance_id": instance_id})
    assert wait_for_snapshot(api, checkpoint.json()["data"]["id"])["status"] == "completed"
    # The standby is started for the takeover, and its host dies as it comes up: the second failure.
    stack.marketplace.fail_next_starts(1, "Host went offline while starting the container")
    try:
        lose(stack, first_machine, "host_offline")

        assert eventually(
            lambda: "failover.completed" in event_types(api, instance_id), seconds=FAILOVER_SECONDS
        )
    finally:
        stack.marketplace.clear_injected_failures()
    back = api.get(f"/api/v1/instances/{instance_id}").json()["data"]
    assert back["status"] == "running", back["status_reason"]
    assert back["id"] == instance_id
    new_machine = machine_of(api, instance_id)
    assert new_machine not in (first_machine, int(standby["machine_id"]))
    assert contents(stack.machine_agents.workspace(new_machine)) == before, "every checkpointed file is back"
    (rented,) = [m for m in stack.marketplace.machines() if m["id"] == new_machine]
    assert SSH_KEY in (rented["onstart"] or ""), "the same SSH key opens the new machine"
    failover_events = [
        event for event in events_of(api, instance_id) if event["type"].startswith("failover.")
    ]
    assert [(event["type"], event["details"].get("strategy")) for event in failover_events] == [
        ("failover.started", "warmpool"),
        ("failover.failed", "warmpool"),
        ("failover.started", "snapshot"),
        ("failover.completed", "snapshot"),
    ]
    history = failover_status(api, instance_id)["history"]
    assert [(record["strategy"], record["outcome"]) for record in history] == [
        ("warmpool", "failed"),
        ("snapshot", "completed"),
    ]
    assert eventually(
        lambda: (
            not {first_machine, int(standby["machine_id"])} & {m["id"] for m in stack.marketplace.machines()}
        )
    ), "neither the dead machine nor the dead standby stays rented"


def test_a_drill_fails_over_onto_the_standby_and_gives_the_old_machine_back(
    api: httpx.Client, stack: LocalStack, warm_instance: str
) -> None:
    instance_id = warm_instance
    first_machine = machine_of(api, instance_id)
    standby = ready_standby(api, instance_id)
    before = fill_workspace(stack.machine_agents.workspace(first_machine))
    checkpoint = api.post("/api/v1/snapshots", json={"instance_id": instance_id})
    assert wait_for_snapshot(api, checkpoint.json()["data"]["id"])["status"] == "completed"

    drill = api.post(f"/api/v1/failover/trigger/{instance_id}")

    assert drill.status_code == 202, drill.text
    assert drill.json()["data"]["status"] == "waking"
    assert eventually(lambda: "failover.completed" in event_types(api, instance_id), seconds=FAILOVER_SECONDS)
    assert machine_of(api, instance_id) == int(standby["machine_id"])
    assert contents(stack.machine_agents.workspace(int(standby["machine_id"]))) == before
    (record,) = failover_status(api, instance_id)["history"]
    assert (record["reason"], record["strategy"], record["outcome"]) == ("drill", "warmpool", "completed")
    assert eventually(lambda: first_machine not in [m["id"] for m in stack.marketplace.machines()])


def _epoch(timestamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
