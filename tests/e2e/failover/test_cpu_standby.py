"""`cpu_standby` on the local stack: a CPU machine on the embedded EC2, with the real agent on it, kept
in sync with the checkpoints, takes the instance over when its GPU dies in any of the ways the
marketplace kills one, then hands it to a new GPU with every file written before the last checkpoint."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.conftest import (
    bus_consumer,
    contents,
    eventually,
    fill_workspace,
    machine_of,
    machines_for,
    wait_for_agent,
    wait_for_snapshot,
    wait_for_status,
)
from tests.e2e.failover.conftest import event_types, failover_status

pytestmark = pytest.mark.e2e

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWNXuP6uPYQadPK5qqvzn5+3LzQRqpDMwyPnua0R2Tn me@laptop"
TAKEOVER_SECONDS = 60
STANDBY_READY_SECONDS = 120
"""An EC2 standby boots in 15 to 40 s of the stack's clock, then syncs the last checkpoint: on a machine
busy with the rest of the suite that took over a minute of real time."""
"""The workspace and SSH must be on the CPU machine within a minute of the GPU's death."""


def ec2_machines_for(stack: LocalStack, instance_id: str) -> list[dict[str, Any]]:
    assert stack.cpu_standbys is not None
    return [
        machine
        for machine in stack.cpu_standbys.machines()
        if machine["label"] and machine["label"].endswith(f":{instance_id}")
    ]


def checkpoint_since(api: httpx.Client, instance_id: str, since: datetime) -> str | None:
    """The last completed checkpoint of the instance, if it was started after `since`."""
    last = failover_status(api, instance_id)["last_checkpoint_id"]
    snapshots = api.get("/api/v1/snapshots", params={"instance_id": instance_id, "per_page": 100}).json()[
        "data"
    ]
    for snapshot in snapshots:
        started = datetime.fromisoformat(snapshot["created_at"].replace("Z", "+00:00"))
        if snapshot["id"] == last and snapshot["purpose"] == "checkpoint" and started > since:
            return str(last)
    return None


@pytest.mark.parametrize("kind", ["outbid", "host_offline", "partition", "maintenance"])
def test_the_cpu_standby_takes_over_then_a_new_gpu_gets_every_file(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str], kind: str
) -> None:
    instance_id = create_instance(failover_enabled=True, failover_strategy="cpu_standby", ssh_key=SSH_KEY)
    created = wait_for_status(api, instance_id, {"running", "failed"})
    assert created["status"] == "running", created["status_reason"]
    wait_for_agent(api, instance_id)
    configured = api.post(
        "/api/v1/failover/configure",
        json={"instance_id": instance_id, "enabled": True, "checkpoint_interval_minutes": 0.2},
    )
    assert configured.status_code == 200, configured.text
    first_gpu = machine_of(api, instance_id)
    before = fill_workspace(stack.machine_agents.workspace(first_gpu))
    filled_at = datetime.now(UTC)
    # A checkpoint taken by itself after the files were written is the last one the standby holds.
    assert eventually(lambda: checkpoint_since(api, instance_id, filled_at) is not None, seconds=60)
    # The standby, stopped, holds the last checkpoint before the GPU dies.
    assert eventually(
        lambda: (
            (standby := failover_status(api, instance_id)["standby"]) is not None
            and standby["state"] == "ready"
            and standby["synced_snapshot_id"] == failover_status(api, instance_id)["last_checkpoint_id"]
            and [m["state"] for m in ec2_machines_for(stack, instance_id)] == ["stopped"]
        ),
        seconds=STANDBY_READY_SECONDS,
    ), failover_status(api, instance_id)["standby"]
    waiting = failover_status(api, instance_id)["standby"]
    assert waiting["kind"] == "cpu" and waiting["provider"] == "ec2" and waiting["cost_per_hour"] > 0
    assert "agent_token_digest" not in waiting, "the standby's token digest is never shown"

    died = time.monotonic()
    stack.marketplace.interrupt(first_gpu, kind)

    assert eventually(
        lambda: api.get(f"/api/v1/instances/{instance_id}").json()["data"]["running_on"] == "cpu_standby",
        seconds=TAKEOVER_SECONDS,
    ), api.get(f"/api/v1/instances/{instance_id}").json()["data"]
    assert time.monotonic() - died < TAKEOVER_SECONDS
    on_cpu = api.get(f"/api/v1/instances/{instance_id}").json()["data"]
    standby = failover_status(api, instance_id)["standby"]
    assert standby["state"] == "active" and failover_status(api, instance_id)["running_on"] == "cpu_standby"
    assert on_cpu["ip_address"] == standby["ip_address"] and on_cpu["ssh_port"] == 22
    assert on_cpu["ssh_command"] == f"ssh -p 22 root@{standby['ip_address']}"
    (cpu_machine,) = ec2_machines_for(stack, instance_id)
    assert cpu_machine["state"] == "running"
    assert stack.cpu_standbys is not None
    assert contents(stack.cpu_standbys.workspace(cpu_machine["id"])) == before
    user_data = stack.aws.client("ec2").describe_instance_attribute(
        InstanceId=cpu_machine["id"], Attribute="userData"
    )["UserData"]["Value"]
    assert SSH_KEY in base64.b64decode(user_data).decode(), "the user's SSH key reaches the CPU machine"

    assert eventually(lambda: "failover.completed" in event_types(api, instance_id), seconds=90)
    back = api.get(f"/api/v1/instances/{instance_id}").json()["data"]
    assert back["status"] == "running" and back["running_on"] == "gpu"
    second_gpu = machine_of(api, instance_id)
    assert second_gpu != first_gpu
    assert contents(stack.machine_agents.workspace(second_gpu)) == before
    assert (back["id"], back["failover"]["strategy"]) == (instance_id, "cpu_standby")
    assert back["failover"]["last_failover"] is not None
    assert eventually(lambda: [m["state"] for m in ec2_machines_for(stack, instance_id)] == ["stopped"])
    (record,) = failover_status(api, instance_id)["history"]
    assert (record["strategy"], record["outcome"]) == ("cpu_standby", "completed")
    assert 0 < record["recovered_after_seconds"] < TAKEOVER_SECONDS
    assert back["created_at"] == created["created_at"], "the same instance, in the same team"
    kinds = event_types(api, instance_id)
    assert (
        kinds.index("instance.interrupted")
        < kinds.index("failover.started")
        < kinds.index("failover.completed")
    )

    assert api.delete(f"/api/v1/instances/{instance_id}").status_code in (200, 202)
    assert eventually(lambda: ec2_machines_for(stack, instance_id) == [], seconds=30), (
        "the standby is terminated"
    )
    assert eventually(lambda: machines_for(stack, instance_id) == [], seconds=30)


def test_failover_events_of_the_cpu_standby_reach_the_bus(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    instance_id = create_instance(failover_enabled=True, failover_strategy="cpu_standby")
    assert wait_for_status(api, instance_id, {"running", "failed"})["status"] == "running"
    wait_for_agent(api, instance_id)
    checkpoint = api.post("/api/v1/snapshots", json={"instance_id": instance_id})
    assert wait_for_snapshot(api, checkpoint.json()["data"]["id"])["status"] == "completed"
    assert eventually(
        lambda: (failover_status(api, instance_id)["standby"] or {}).get("state") == "ready",
        seconds=STANDBY_READY_SECONDS,
    )
    seen: list[dict[str, Any]] = []
    with bus_consumer(stack, "cpu-standby-test-events") as received:
        stack.marketplace.interrupt(machine_of(api, instance_id), "host_offline")

        def drain() -> bool:
            seen.extend(
                envelope["detail"]
                for envelope in received()
                if envelope["detail"]["data"].get("instance_id") == instance_id
            )
            return "failover.completed" in [event["event"] for event in seen]

        assert eventually(drain, seconds=90)
    by_type = {event["event"]: event["data"] for event in seen}
    assert by_type["instance.interrupted"]["reason"] == "host_offline"
    assert by_type["failover.started"]["strategy"] == "cpu_standby"
    assert by_type["failover.completed"]["strategy"] == "cpu_standby"
    api.delete(f"/api/v1/instances/{instance_id}")
    assert eventually(lambda: ec2_machines_for(stack, instance_id) == [], seconds=30)


def cpu_standby_instance(api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]) -> str:
    """A running instance with `cpu_standby`, a checkpoint of its files, and its standby holding it."""
    instance_id = create_instance(failover_enabled=True, failover_strategy="cpu_standby", ssh_key=SSH_KEY)
    assert wait_for_status(api, instance_id, {"running", "failed"})["status"] == "running"
    wait_for_agent(api, instance_id)
    checkpoint = api.post("/api/v1/snapshots", json={"instance_id": instance_id})
    assert wait_for_snapshot(api, checkpoint.json()["data"]["id"])["status"] == "completed"
    assert eventually(
        lambda: (
            (standby := failover_status(api, instance_id)["standby"]) is not None
            and standby["state"] == "ready"
            and standby["synced_snapshot_id"] == failover_status(api, instance_id)["last_checkpoint_id"]
        ),
        seconds=STANDBY_READY_SECONDS,
    )
    return instance_id


def test_a_drill_moves_the_instance_to_its_cpu_standby_and_back_billing_only_the_standby_meanwhile(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    instance_id = cpu_standby_instance(api, stack, create_instance)
    first_gpu = machine_of(api, instance_id)
    # Written after the checkpoint the standby holds: the drill's own checkpoint brings it along.
    before = fill_workspace(stack.machine_agents.workspace(first_gpu))
    again = api.post("/api/v1/snapshots", json={"instance_id": instance_id})
    assert wait_for_snapshot(api, again.json()["data"]["id"])["status"] == "completed"

    drill = api.post(f"/api/v1/failover/trigger/{instance_id}")

    assert drill.status_code == 202, drill.text
    assert drill.json()["data"]["status"] == "waking"
    assert eventually(
        lambda: api.get(f"/api/v1/instances/{instance_id}").json()["data"]["running_on"] == "cpu_standby",
        seconds=TAKEOVER_SECONDS,
    )
    since = time.monotonic()
    cost = api.get(f"/api/v1/instances/{instance_id}").json()["data"]["cost_accumulated"]
    standby = failover_status(api, instance_id)["standby"]
    time.sleep(1)
    later = api.get(f"/api/v1/instances/{instance_id}").json()["data"]
    if later["running_on"] == "cpu_standby" and standby is not None:
        # No GPU is billed while the standby carries the instance: the standby alone, at its own price
        # (to the 4 decimals shown).
        most = cost + standby["cost_per_hour"] * (time.monotonic() - since) / 3600 + 0.0001
        assert cost <= later["cost_accumulated"] <= most
    (cpu_machine,) = ec2_machines_for(stack, instance_id)
    assert stack.cpu_standbys is not None
    assert contents(stack.cpu_standbys.workspace(cpu_machine["id"])) == before
    assert eventually(lambda: "failover.completed" in event_types(api, instance_id), seconds=90)
    back = api.get(f"/api/v1/instances/{instance_id}").json()["data"]
    assert back["running_on"] == "gpu" and back["cost_accumulated"] >= cost
    assert contents(stack.machine_agents.workspace(machine_of(api, instance_id))) == before
    (record,) = failover_status(api, instance_id)["history"]
    assert (record["reason"], record["strategy"], record["outcome"]) == ("drill", "cpu_standby", "completed")
    assert eventually(lambda: first_gpu not in [machine["id"] for machine in stack.marketplace.machines()])
    api.delete(f"/api/v1/instances/{instance_id}")
    assert eventually(lambda: ec2_machines_for(stack, instance_id) == [], seconds=30)


def test_a_new_gpu_dying_midway_ends_in_the_snapshot_path_with_every_file_and_nothing_left_rented(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    instance_id = cpu_standby_instance(api, stack, create_instance)
    first_gpu = machine_of(api, instance_id)
    before = fill_workspace(stack.machine_agents.workspace(first_gpu))
    again = api.post("/api/v1/snapshots", json={"instance_id": instance_id})
    assert wait_for_snapshot(api, again.json()["data"]["id"])["status"] == "completed"
    # The GPU rented while the standby carries the instance dies while booting.
    stack.marketplace.fail_next_boots(1)

    stack.marketplace.interrupt(first_gpu, "host_offline")

    assert eventually(lambda: "failover.failed" in event_types(api, instance_id), seconds=90)
    assert eventually(
        lambda: (
            event_types(api, instance_id).count("failover.started") == 2
            and event_types(api, instance_id)[-1] in ("failover.completed", "instance.ready")
        ),
        seconds=90,
    ), event_types(api, instance_id)
    assert eventually(lambda: "failover.completed" in event_types(api, instance_id), seconds=90)
    back = wait_for_status(api, instance_id, {"running", "hibernated", "failed"}, timeout=90)
    assert back["status"] == "running" and back["running_on"] == "gpu", back["status_reason"]
    assert contents(stack.machine_agents.workspace(machine_of(api, instance_id))) == before
    records = failover_status(api, instance_id)["history"]
    assert [(r["strategy"], r["outcome"]) for r in records] == [
        ("cpu_standby", "failed"),
        ("snapshot", "completed"),
    ]
    assert [machine["state"] for machine in ec2_machines_for(stack, instance_id)] == ["stopped"]
    assert len(machines_for(stack, instance_id)) == 1, "the GPU that died while booting was given back"
    api.delete(f"/api/v1/instances/{instance_id}")
    assert eventually(
        lambda: ec2_machines_for(stack, instance_id) == [] and machines_for(stack, instance_id) == []
    )
