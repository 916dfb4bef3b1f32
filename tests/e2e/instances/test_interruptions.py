"""A spot GPU lost in any of the ways the marketplace loses one interrupts its instance: noticed,
confirmed, billed no further, its machine destroyed, and `instance.interrupted` on its timeline."""

from __future__ import annotations

from collections.abc import Callable

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

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("outbid", "spot_preemption"), ("host_offline", "host_offline"), ("maintenance", "host_offline")],
)
def test_a_lost_machine_interrupts_its_instance(
    api: httpx.Client, stack: LocalStack, running_instance: str, kind: str, reason: str
) -> None:
    machine_id = machine_of(api, running_instance)
    (machine,) = [machine for machine in stack.marketplace.machines() if machine["id"] == machine_id]
    if kind == "outbid":
        assert machine["is_bid"], "instances are rented as interruptible machines where the host allows it"
        offer_id = rented_offer(stack, machine["machine_id"])
        assert stack.marketplace.bid(offer_id, machine["dph_total"] + 1) == machine_id
    else:
        stack.marketplace.interrupt(machine_id, kind)

    interrupted = wait_for_status(api, running_instance, {"interrupted", "failed", "deleted"})

    assert interrupted["status"] == "interrupted", interrupted["status_reason"]
    assert interrupted["status_reason"].startswith(f"interrupted ({reason})")
    cost = interrupted["cost_accumulated"]
    assert eventually(lambda: machines_for(stack, running_instance) == []), "the dead machine is destroyed"
    events = api.get(f"/api/v1/instances/{running_instance}/events").json()["data"]["events"]
    (event,) = [event for event in events if event["type"] == "instance.interrupted"]
    details = event["details"]
    assert (details["gpu"], details["reason"]) == (machine["gpu_name"], reason)
    assert set(details) <= {"gpu", "reason", "died_at", "detected_after_seconds", "data_window_seconds"}
    again = api.get(f"/api/v1/instances/{running_instance}").json()["data"]
    assert again["cost_accumulated"] == cost, "nothing is billed after the machine died"


def test_a_partition_interrupts_an_instance_with_failover_and_only_such_a_one(
    api: httpx.Client, stack: LocalStack, running_instance: str, create_instance: Callable[..., str]
) -> None:
    guarded = create_instance(failover_enabled=True)
    assert wait_for_status(api, guarded, {"running", "failed"})["status"] == "running"
    wait_for_agent(api, guarded)
    for instance_id in (running_instance, guarded):
        stack.marketplace.interrupt(machine_of(api, instance_id), "partition")

    assert eventually(lambda: "instance.interrupted" in event_types(api, guarded), seconds=60)
    events = api.get(f"/api/v1/instances/{guarded}/events").json()["data"]["events"]
    (event,) = [event for event in events if event["type"] == "instance.interrupted"]
    assert event["details"]["reason"] == "machine_lost"
    # Without failover, silence alone never destroys a machine that may still be doing its work.
    unguarded = api.get(f"/api/v1/instances/{running_instance}").json()["data"]
    assert unguarded["status"] == "running"
    assert "instance.interrupted" not in event_types(api, running_instance)
    api.delete(f"/api/v1/instances/{guarded}")


def rented_offer(stack: LocalStack, host_machine_id: int) -> int:
    """The offer a machine was rented from: the rented one of its host machine."""
    (offer_id,) = [
        offer["id"]
        for offer in stack.marketplace.offers()
        if offer["machine_id"] == host_machine_id and offer["rented"]
    ]
    return int(offer_id)


def test_an_interrupted_instance_wakes_from_its_last_snapshot_with_every_file(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    first_machine = machine_of(api, running_instance)
    before = fill_workspace(stack.machine_agents.workspace(first_machine))
    created = api.post("/api/v1/snapshots", json={"instance_id": running_instance})
    assert created.status_code in (201, 202), created.text
    assert wait_for_snapshot(api, created.json()["data"]["id"])["status"] == "completed"
    stack.marketplace.interrupt(first_machine, "host_offline")
    assert wait_for_status(api, running_instance, {"interrupted", "failed"})["status"] == "interrupted"

    waking = api.post(f"/api/instances/{running_instance}/wake")

    assert waking.status_code == 200, waking.text
    woken = wait_for_status(api, running_instance, {"running", "hibernated", "failed"}, timeout=90)
    assert woken["status"] == "running", woken["status_reason"]
    second_machine = machine_of(api, running_instance)
    assert second_machine != first_machine
    assert contents(stack.machine_agents.workspace(second_machine)) == before


def test_an_instance_with_failover_comes_back_on_a_new_machine_with_its_files(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    instance_id = create_instance(failover_enabled=True, failover_strategy="snapshot")
    assert wait_for_status(api, instance_id, {"running", "failed"})["status"] == "running"
    wait_for_agent(api, instance_id)
    first_machine = machine_of(api, instance_id)
    before = fill_workspace(stack.machine_agents.workspace(first_machine))
    checkpoint = api.post("/api/v1/snapshots", json={"instance_id": instance_id})
    assert wait_for_snapshot(api, checkpoint.json()["data"]["id"])["status"] == "completed"

    stack.marketplace.interrupt(first_machine, "host_offline")

    assert eventually(lambda: "failover.completed" in event_types(api, instance_id), seconds=90)
    back = api.get(f"/api/v1/instances/{instance_id}").json()["data"]
    assert back["status"] == "running" and back["failover"]["last_failover"] is not None
    second_machine = machine_of(api, instance_id)
    assert second_machine != first_machine
    assert contents(stack.machine_agents.workspace(second_machine)) == before
    assert first_machine not in [machine["id"] for machine in stack.marketplace.machines()]
    kinds = event_types(api, instance_id)
    assert (
        kinds.index("instance.interrupted")
        < kinds.index("failover.started")
        < kinds.index("failover.completed")
    )
    api.delete(f"/api/v1/instances/{instance_id}")


def event_types(api: httpx.Client, instance_id: str) -> list[str]:
    events = api.get(f"/api/v1/instances/{instance_id}/events").json()["data"]["events"]
    return [str(event["type"]) for event in events]


def test_a_failover_drill_through_the_routes_comes_back_and_is_in_the_history(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    refused = api.post(f"/api/v1/failover/trigger/{running_instance}")
    assert refused.status_code == 409 and "configure" in refused.json()["error"]["message"]
    configured = api.post(
        "/api/v1/failover/configure",
        json={"instance_id": running_instance, "enabled": True, "checkpoint_interval_minutes": 0.5},
    )
    assert configured.status_code == 200, configured.text
    assert configured.json()["data"]["strategy"] == "snapshot"
    no_snapshot = api.post(f"/api/v1/failover/trigger/{running_instance}")
    assert no_snapshot.status_code == 409 and "snapshot" in no_snapshot.json()["error"]["message"]
    first_machine = machine_of(api, running_instance)
    before = fill_workspace(stack.machine_agents.workspace(first_machine))
    checkpoint = api.post("/api/v1/snapshots", json={"instance_id": running_instance})
    assert wait_for_snapshot(api, checkpoint.json()["data"]["id"])["status"] == "completed"

    drill = api.post(f"/api/v1/failover/trigger/{running_instance}")

    assert drill.status_code == 202, drill.text
    assert drill.json()["data"]["status"] == "waking"
    assert eventually(lambda: "failover.completed" in event_types(api, running_instance), seconds=90)
    status = api.get(f"/api/v1/failover/status/{running_instance}").json()["data"]
    (record,) = status["history"]
    assert (record["reason"], record["outcome"]) == ("drill", "completed")
    assert record["recovered_after_seconds"] > 0 and status["last_failover"] is not None
    assert status["data_at_risk_seconds"] >= 0
    assert contents(stack.machine_agents.workspace(machine_of(api, running_instance))) == before
    assert eventually(
        lambda: first_machine not in [machine["id"] for machine in stack.marketplace.machines()]
    )
    kinds = event_types(api, running_instance)
    assert (
        kinds.index("failover.triggered")
        < kinds.index("instance.interrupted")
        < kinds.index("failover.started")
    )
