"""The instance lifecycle end to end: rent, watch it run, stop, start, reboot, destroy."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.conftest import bus_consumer, eventually, machines_for, wait_for_status

pytestmark = pytest.mark.e2e

SEED_004_BODY = {
    "gpu_type": "RTX_4090",
    "region": "us-west",
    "image": "pytorch/pytorch:2.0-cuda12.1",
    "disk_gb": 100,
    "failover_enabled": True,
    "failover_strategy": "warmpool",
    "ssh_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h user@laptop",
}


def machine_of(stack: LocalStack, instance_id: str) -> dict | None:
    labelled = machines_for(stack, instance_id)
    assert len(labelled) <= 1, f"more than one machine rented for {instance_id}: {labelled}"
    return labelled[0] if labelled else None


def event_types(api: httpx.Client, instance_id: str) -> list[str]:
    response = api.get(f"/api/v1/instances/{instance_id}/events")
    assert response.status_code == 200, response.text
    events = response.json()["data"]["events"]
    timestamps = [event["timestamp"] for event in events]
    assert timestamps == sorted(timestamps), "events are listed oldest first"
    return [event["type"] for event in events]


def test_full_lifecycle_through_the_provider(api: httpx.Client, stack: LocalStack) -> None:
    created = api.post("/api/v1/instances", json=SEED_004_BODY)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["success"] is True
    assert body["data"]["id"].startswith("inst_")
    assert body["data"]["status"] == "starting"
    assert body["data"]["estimated_ready_seconds"] > 0
    instance_id = body["data"]["id"]

    running = wait_for_status(api, instance_id, {"running", "failed"})
    assert running["status"] == "running", running["status_reason"]
    machine = machine_of(stack, instance_id)
    assert machine is not None and machine["actual_status"] == "running"
    assert running["gpu_type"] == "RTX_4090"
    assert running["gpu_name"] == "NVIDIA GeForce RTX 4090"
    assert running["gpu_memory_gb"] == pytest.approx(machine["gpu_ram"] / 1024, rel=0.05)
    assert running["region"] == "us-west"
    assert running["ip_address"] == machine["public_ipaddr"]
    ssh_port = int(machine["ports"]["22/tcp"][0]["HostPort"])
    assert running["ssh_port"] == ssh_port
    assert running["ssh_command"] == f"ssh -p {ssh_port} root@{machine['public_ipaddr']}"
    # Jupyter as Vast starts it for a Jupyter runtype: on container port 8080, behind the instance's token.
    assert running["jupyter_url"] == (
        f"https://{machine['public_ipaddr']}:{machine['ports']['8080/tcp'][0]['HostPort']}"
        f"/?token={machine['jupyter_token']}"
    )
    assert running["cost_per_hour"] == pytest.approx(machine["dph_total"])
    assert running["cost_accumulated"] >= 0
    assert running["uptime_seconds"] >= 0
    assert 0 < running["host_reliability_score"] <= 5
    assert running["failover"] == {"enabled": True, "strategy": "warmpool", "last_failover": None}
    assert running["serverless"] == {
        "enabled": False,
        "idle_timeout_minutes": None,
        "gpu_threshold": None,
        "state": None,
    }
    # Null until the machine's agent reports, then its latest reading.
    assert set(running["metrics"]) == {
        "gpu_utilization",
        "gpu_memory_used_gb",
        "gpu_temperature",
        "cpu_utilization",
        "ram_used_gb",
        "disk_used_gb",
    }
    assert running["provider"]["instance_id"] == str(machine["id"])
    assert SEED_004_BODY["ssh_key"] in (machine["onstart"] or ""), "the SSH key is installed on boot"

    stopping = api.post(f"/api/v1/instances/{instance_id}/stop")
    assert stopping.status_code == 202, stopping.text
    assert stopping.json()["data"]["status"] == "stopping"
    stopped = wait_for_status(api, instance_id, {"stopped", "failed"})
    assert stopped["status"] == "stopped", stopped["status_reason"]
    assert stopped["ssh_command"] is None and stopped["uptime_seconds"] == 0
    assert machine_of(stack, instance_id)["intended_status"] == "stopped"  # type: ignore[index]

    assert api.post(f"/api/v1/instances/{instance_id}/start").status_code == 202
    restarted = wait_for_status(api, instance_id, {"running", "failed"})
    assert restarted["status"] == "running", restarted["status_reason"]

    rebooting = api.post(f"/api/v1/instances/{instance_id}/reboot")
    assert rebooting.status_code == 202
    assert rebooting.json()["data"]["status"] == "rebooting"
    rebooted = wait_for_status(api, instance_id, {"running", "failed"})
    assert rebooted["status"] == "running", rebooted["status_reason"]

    def boots_logged() -> list[str]:
        lines = api.get(f"/api/v1/instances/{instance_id}/logs").json()["data"]["lines"]
        return [line["message"] for line in lines if "booted" in line["message"]]

    # Booted three times (created, started, rebooted); each boot's line once, though the log outlives them.
    assert eventually(lambda: len(boots_logged()) >= 3)
    assert len(boots_logged()) == 3, boots_logged()

    deleting = api.delete(f"/api/v1/instances/{instance_id}")
    assert deleting.status_code == 202
    assert deleting.json()["data"]["status"] == "deleting"
    deleted = wait_for_status(api, instance_id, {"deleted", "failed"})
    assert deleted["status"] == "deleted", deleted["status_reason"]
    assert machine_of(stack, instance_id) is None, "the machine is destroyed at the provider"

    # Failover is on (seed 004's body): checkpoints may be taken while it runs, between these events.
    lifecycle = [kind for kind in event_types(api, instance_id) if kind.startswith("instance.")]
    assert lifecycle == [
        "instance.created",
        "instance.started",
        "instance.ready",
        "instance.stopped",
        "instance.started",
        "instance.rebooted",
        "instance.deleted",
    ]
    listed = api.get("/api/v1/instances").json()["data"]
    assert instance_id not in [item["id"] for item in listed], "deleted instances leave the default list"
    only_deleted = api.get("/api/v1/instances", params={"status": "deleted"}).json()["data"]
    assert instance_id in [item["id"] for item in only_deleted]


@pytest.mark.parametrize(
    "body",
    [
        {"gpu": "RTX 4090", "image": "pytorch:2.0-cuda12", "disk_size": 100},
        {"gpu_type": "RTX 4090", "region": "US-East", "auto_hibernate": True},
        {"gpu_type": "RTX4090", "region": "US-East"},
    ],
    ids=["seed-001", "seed-002", "cli"],
)
def test_every_documented_spelling_is_accepted(api: httpx.Client, body: dict) -> None:
    response = api.post("/api/v1/instances", json=body)
    assert response.status_code == 201, response.text
    instance = api.get(f"/api/v1/instances/{response.json()['data']['id']}").json()["data"]
    assert instance["gpu_type"] == "RTX_4090"
    assert instance["gpu"] == "RTX 4090", "seed 001's name for it, beside gpu_type"
    assert instance["ip"] == instance["ip_address"], "seed 001's and its SDK's name for it"
    listed = api.get("/api/v1/instances", params={"per_page": 100}).json()["data"]
    assert {"gpu", "ip"} <= set(next(item for item in listed if item["id"] == instance["id"]))
    if "region" in body:
        assert instance["region"] == "us-east"
    if "disk_size" in body:
        assert instance["disk_gb"] == 100
    if body.get("auto_hibernate"):
        assert instance["serverless"]["enabled"] is True
        assert instance["serverless"]["idle_timeout_minutes"] == 15


def test_unversioned_routes_answer_in_the_older_shapes(api: httpx.Client) -> None:
    created = api.post(
        "/api/instances", json={"gpu_type": "RTX 4090", "region": "US-East", "auto_hibernate": True}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "creating"
    assert body["id"] == body["instance_id"]
    assert body["gpu_name"] == "RTX 4090"
    assert body["ip"] is None
    assert "estimated_ready" in body

    machines = api.get("/api/machines").json()["machines"]
    assert body["id"] in [machine["id"] for machine in machines]
    running = wait_for_status(api, body["id"], {"running", "failed"})
    assert running["status"] == "running", running["status_reason"]
    listed = next(item for item in api.get("/api/machines").json()["machines"] if item["id"] == body["id"])
    assert listed["region"] == "US-East", "spelt as seeds 002 and 003 show it"

    terminated = api.delete(f"/api/instances/{body['id']}")
    assert terminated.status_code == 200
    assert terminated.json()["message"] == f"Instance {body['id']} terminating"
    assert terminated.json()["final_cost"] >= 0
    wait_for_status(api, body["id"], {"deleted"})


def test_pagination_and_filters(api: httpx.Client, create_instance: Callable[..., str]) -> None:
    ids = [create_instance(gpu_type="A100", disk_gb=80) for _ in range(3)]
    everything = api.get("/api/v1/instances", params={"gpu_type": "A100", "per_page": 100}).json()
    assert {item["id"] for item in everything["data"]} >= set(ids)
    total = everything["meta"]["total"]

    first = api.get("/api/v1/instances", params={"gpu_type": "a100", "per_page": 2, "page": 1}).json()
    second = api.get("/api/v1/instances", params={"gpu_type": "A100", "per_page": 2, "page": 2}).json()
    assert first["meta"] == {"page": 1, "per_page": 2, "total": total}
    assert len(first["data"]) == 2
    paged_ids = [item["id"] for item in first["data"] + second["data"]]
    assert len(paged_ids) == len(set(paged_ids)), "pages do not overlap"
    assert all(item["gpu_type"] == "A100" for item in first["data"] + second["data"])

    settled = {
        instance_id: wait_for_status(api, instance_id, {"running", "failed"})["status"] for instance_id in ids
    }
    running = api.get("/api/v1/instances", params={"status": "running", "gpu_type": "A100"}).json()
    listed = {item["id"] for item in running["data"]}
    assert listed >= {instance_id for instance_id, status in settled.items() if status == "running"}
    assert not listed & {instance_id for instance_id, status in settled.items() if status != "running"}
    assert {item["status"] for item in running["data"]} <= {"running"}
    for instance_id in ids:
        api.delete(f"/api/v1/instances/{instance_id}")


def test_domain_events_reach_the_bus(api: httpx.Client, stack: LocalStack, create_instance: Callable) -> None:
    with bus_consumer(stack, "lifecycle-test-events") as received:
        instance_id = create_instance()
        wait_for_status(api, instance_id, {"running"})
        seen: list[str] = []
        wanted = {"instance.created", "instance.started", "instance.ready"}

        def drain() -> bool:
            # The last event is published just after the status it announces is written: read until all
            # arrived.
            for envelope in received():
                if envelope["detail"]["data"].get("instance_id") == instance_id:
                    assert envelope["source"] == "dumont.instances"
                    assert envelope["detail-type"] == envelope["detail"]["event"]
                    seen.append(envelope["detail"]["event"])
            return wanted <= set(seen)

        try:
            eventually(drain)
            assert wanted <= set(seen)
        finally:
            api.delete(f"/api/v1/instances/{instance_id}")
