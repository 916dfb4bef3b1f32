"""Snapshots, hibernation and waking on the local stack, with the real agent on every machine."""

from __future__ import annotations

import errno
import json
import time
from typing import Any

import httpx
import pytest

from local_stack.embedded_aws import SNAPSHOT_BUCKET
from local_stack.stack import LocalStack
from tests.e2e.conftest import (
    SNAPSHOT_WAIT_SECONDS,
    contents,
    eventually,
    fill_workspace,
    machine_of,
    machines_for,
    wait_for_snapshot,
    wait_for_status,
)

pytestmark = pytest.mark.e2e


def test_hibernate_destroys_the_machine_and_wake_brings_back_every_file(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    first_machine = machine_of(api, running_instance)
    before = fill_workspace(stack.machine_agents.workspace(first_machine))

    hibernating = api.post(f"/api/instances/{running_instance}/hibernate")
    assert hibernating.status_code == 200, hibernating.text
    answer = hibernating.json()
    assert answer["status"] == "hibernating" and answer["savings_per_hour"] > 0
    hibernated = wait_for_status(api, running_instance, {"hibernated", "running", "failed"})
    assert hibernated["status"] == "hibernated", hibernated["status_reason"]
    assert first_machine not in [machine["id"] for machine in stack.marketplace.machines()]
    assert eventually(lambda: not stack.machine_agents.workspace(first_machine).exists()), "its disk is gone"
    assert hibernated["cost_per_hour"] is not None and hibernated["ip_address"] is None

    snapshot = api.get(f"/api/v1/snapshots/{answer['snapshot_id']}").json()["data"]
    assert snapshot["status"] == "completed" and snapshot["purpose"] == "hibernate"
    assert snapshot["file_count"] == len(before)

    waking = api.post(f"/api/instances/{running_instance}/wake")
    assert waking.status_code == 200, waking.text
    assert waking.json()["status"] == "waking"
    woken = wait_for_status(api, running_instance, {"running", "hibernated", "failed"})
    assert woken["status"] == "running", woken["status_reason"]
    second_machine = machine_of(api, running_instance)
    assert second_machine != first_machine
    assert contents(stack.machine_agents.workspace(second_machine)) == before

    events = [
        event["type"]
        for event in api.get(f"/api/v1/instances/{running_instance}/events").json()["data"]["events"]
    ]
    assert (
        events[-5:]
        == [
            "snapshot.completed",
            "instance.hibernated",
            "instance.started",
            "instance.ready",
        ][-5:]
        or "instance.hibernated" in events
    )


def test_a_second_snapshot_uploads_only_what_changed_and_deleting_keeps_shared_chunks(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    workspace = stack.machine_agents.workspace(machine_of(api, running_instance))
    fill_workspace(workspace)
    first = api.post(
        "/api/v1/snapshots", json={"instance_id": running_instance, "name": "one", "compression": "lz4"}
    )
    assert first.status_code == 202, first.text
    assert first.json()["data"]["status"] == "compressing"
    one = wait_for_snapshot(api, first.json()["data"]["id"])
    assert one["status"] == "completed", one["status_reason"]
    assert one["uploaded_bytes"] > 5 * 1024 * 1024

    (workspace / "notes.md").write_text("# experiment 8\n")
    second = api.post("/api/snapshots", json={"instance_id": running_instance, "name": "two"})
    assert second.status_code == 202 and second.json()["status"] == "compressing"
    two = wait_for_snapshot(api, second.json()["snapshot_id"])
    assert two["status"] == "completed"
    assert two["uploaded_bytes"] < one["uploaded_bytes"] * 0.05
    legacy = api.get(f"/api/snapshots/{two['id']}").json()
    assert legacy["status"] == "completed" and legacy["size"].endswith("MB")

    listed = api.get("/api/v1/snapshots", params={"instance_id": running_instance}).json()
    assert [item["id"] for item in listed["data"]][:2] == [two["id"], one["id"]]
    assert api.delete(f"/api/v1/snapshots/{one['id']}").status_code == 200
    assert api.get(f"/api/v1/snapshots/{one['id']}").status_code == 404

    # What the remaining snapshot needs is still all there: restoring it onto the machine works.
    (workspace / "weights.bin").unlink()
    restore = api.post(f"/api/v1/snapshots/{two['id']}/restore", json={"instance_id": running_instance})
    assert restore.status_code == 202, restore.text
    deadline = time.monotonic() + SNAPSHOT_WAIT_SECONDS
    while not (workspace / "weights.bin").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (workspace / "weights.bin").stat().st_size == 5 * 1024 * 1024
    assert (workspace / "notes.md").read_text() == "# experiment 8\n"


def test_a_snapshot_asked_in_zstd_is_stored_in_zstd_and_restores_every_file(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    workspace = stack.machine_agents.workspace(machine_of(api, running_instance))
    before = fill_workspace(workspace)
    answer = api.post("/api/v1/snapshots", json={"instance_id": running_instance, "compression": "zstd"})
    assert answer.status_code == 202, answer.text
    snapshot = wait_for_snapshot(api, answer.json()["data"]["id"])
    assert snapshot["status"] == "completed", snapshot["status_reason"]
    assert snapshot["compression"] == "zstd"

    s3 = stack.aws.client("s3")
    team_id = next(team["id"] for team in api.get("/api/v1/teams").json()["data"] if team["current"])
    digests_key = f"teams/{team_id}/snapshots/{snapshot['id']}/digests"
    digests = json.loads(s3.get_object(Bucket=SNAPSHOT_BUCKET, Key=digests_key)["Body"].read())
    frames = [
        s3.get_object(Bucket=SNAPSHOT_BUCKET, Key=f"teams/{team_id}/chunks/{digest}")["Body"].read()
        for digest in digests
    ]
    # The random weights are new to the team, so their chunks were uploaded now, as Zstandard frames.
    assert any(frame.startswith(b"\x28\xb5\x2f\xfd") and len(frame) > 100_000 for frame in frames)

    (workspace / "weights.bin").unlink()
    (workspace / "notes.md").write_text("changed after the snapshot")
    # As seed 000 lists it, without a body: onto the instance the snapshot was taken of.
    restore = api.post(f"/api/v1/snapshots/{snapshot['id']}/restore")
    assert restore.status_code == 202, restore.text

    def restored() -> bool:
        try:
            return contents(workspace) == before
        except OSError:  # the restored workspace is being swapped in
            return False

    assert eventually(restored, SNAPSHOT_WAIT_SECONDS)


def test_an_upload_cut_midway_fails_the_snapshot_and_the_machine_keeps_running(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    machine = machine_of(api, running_instance)
    before = fill_workspace(stack.machine_agents.workspace(machine))
    stack.machine_agents.cut_uploads_after(machine, 0)
    try:
        answer = api.post(f"/api/instances/{running_instance}/hibernate").json()
        instance = wait_for_status(api, running_instance, {"running", "hibernated", "failed"})
    finally:
        stack.machine_agents.cut_uploads_after(machine, None)
    assert instance["status"] == "running"
    assert "hibernation failed" in instance["status_reason"] and "network" in instance["status_reason"]
    snapshot = api.get(f"/api/v1/snapshots/{answer['snapshot_id']}").json()["data"]
    assert snapshot["status"] == "failed" and "upload" in snapshot["status_reason"]
    assert machine in [item["id"] for item in stack.marketplace.machines()]
    assert contents(stack.machine_agents.workspace(machine)) == before


def test_a_full_disk_fails_the_snapshot_with_a_clear_reason(
    api: httpx.Client, stack: LocalStack, running_instance: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dumont_agent.snapshot import chunks

    def disk_full(*_: Any, **__: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    machine = machine_of(api, running_instance)
    before = fill_workspace(stack.machine_agents.workspace(machine))
    monkeypatch.setattr(chunks, "_write_frames", disk_full)
    created = api.post("/api/v1/snapshots", json={"instance_id": running_instance})
    snapshot = wait_for_snapshot(api, created.json()["data"]["id"])
    monkeypatch.undo()
    assert snapshot["status"] == "failed"
    assert "space" in snapshot["status_reason"].lower()
    assert contents(stack.machine_agents.workspace(machine)) == before
    assert api.get(f"/api/v1/instances/{running_instance}").json()["data"]["status"] == "running"


def test_an_agent_that_dies_midway_times_out_and_the_machine_is_not_destroyed(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    machine = machine_of(api, running_instance)
    stack.machine_agents.kill_agent(machine)
    answer = api.post(f"/api/instances/{running_instance}/hibernate").json()
    instance = wait_for_status(api, running_instance, {"running", "hibernated", "failed"})
    assert instance["status"] == "running"
    assert "Timeout" in instance["status_reason"]
    assert api.get(f"/api/v1/snapshots/{answer['snapshot_id']}").json()["data"]["status"] == "failed"
    assert machine in [item["id"] for item in stack.marketplace.machines()]


def test_a_corrupted_snapshot_is_refused_on_wake_and_the_instance_stays_hibernated(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    fill_workspace(stack.machine_agents.workspace(machine_of(api, running_instance)))
    answer = api.post(f"/api/instances/{running_instance}/hibernate").json()
    assert (
        wait_for_status(api, running_instance, {"hibernated", "running", "failed"})["status"] == "hibernated"
    )
    # Flip one byte in the middle of the snapshot's biggest chunk, as a bad disk at rest would.
    s3 = stack.aws.client("s3")
    team_id = next(team["id"] for team in api.get("/api/v1/teams").json()["data"] if team["current"])
    digests_key = f"teams/{team_id}/snapshots/{answer['snapshot_id']}/digests"
    digests = json.loads(s3.get_object(Bucket=SNAPSHOT_BUCKET, Key=digests_key)["Body"].read())
    chunk_key = max(
        (f"teams/{team_id}/chunks/{digest}" for digest in digests),
        key=lambda key: s3.head_object(Bucket=SNAPSHOT_BUCKET, Key=key)["ContentLength"],
    )
    frame = bytearray(s3.get_object(Bucket=SNAPSHOT_BUCKET, Key=chunk_key)["Body"].read())
    frame[len(frame) // 2] ^= 0xFF
    s3.put_object(Bucket=SNAPSHOT_BUCKET, Key=chunk_key, Body=bytes(frame))

    api.post(f"/api/instances/{running_instance}/wake")
    instance = wait_for_status(api, running_instance, {"running", "hibernated", "failed"}, timeout=90)
    assert instance["status"] == "hibernated"
    assert "wake failed" in instance["status_reason"] and "corrupt" in instance["status_reason"].lower()
    assert machines_for(stack, running_instance) == []
