"""Serverless mode: idle machines hibernate on their own, busy or silent ones never do."""

from __future__ import annotations

import time

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.conftest import contents, eventually, fill_workspace, machine_of, wait_for_status

pytestmark = pytest.mark.e2e

WINDOW_MINUTES = 0.1  # six seconds
CHECK_WAIT_SECONDS = 30


def let_a_window_pass(stack: LocalStack) -> None:
    """Until the idle window has passed and an idle check that started after it has run."""
    assert stack.housekeeping is not None
    window_ends = time.monotonic() + WINDOW_MINUTES * 60
    while time.monotonic() < window_ends:
        assert stack.housekeeping.wait_for_next_run(CHECK_WAIT_SECONDS), "housekeeping stopped running"
    assert stack.housekeeping.wait_for_next_run(CHECK_WAIT_SECONDS), "housekeeping stopped running"


def enable(api: httpx.Client, instance_id: str) -> dict[str, object]:
    response = api.post(
        "/api/v1/serverless/enable",
        json={"instance_id": instance_id, "idle_timeout_minutes": WINDOW_MINUTES, "gpu_threshold": 5},
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def test_an_idle_gpu_hibernates_by_itself_and_resumes_with_its_files(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    machine = machine_of(api, running_instance)
    stack.machine_agents.set_gpu_utilization(machine, 1.0)
    before = fill_workspace(stack.machine_agents.workspace(machine))
    status = enable(api, running_instance)
    assert status["enabled"] is True and status["idle_timeout_minutes"] == WINDOW_MINUTES
    assert status["state"] in ("idle", "active")

    hibernated = wait_for_status(api, running_instance, {"hibernated", "failed"}, timeout=60)
    assert hibernated["status"] == "hibernated"
    assert hibernated["status_reason"] == "Low GPU utilization (<5%) for 6 seconds"
    assert hibernated["serverless"]["state"] == "hibernated"
    history = api.get("/api/metrics/hibernation/events", params={"days": 1}).json()
    mine = [event for event in history["events"] if event["instance_id"] == running_instance]
    assert mine and mine[0]["reason"].startswith("Low GPU utilization") and mine[0]["savings_per_hour"] > 0
    assert history["total_savings"] == round(sum(event["saved"] for event in history["events"]), 4), (
        "the total is the sum of what the events show"
    )

    resumed = api.post(f"/api/v1/serverless/resume/{running_instance}")
    assert resumed.status_code == 200, resumed.text
    # Busy on the new machine, so it is not put back to sleep while the test looks.
    stack.machine_agents.set_gpu_utilization(None, 90.0)
    try:
        woken = wait_for_status(api, running_instance, {"running", "hibernated", "failed"}, timeout=60)
        assert woken["status"] == "running", woken["status_reason"]
        assert contents(stack.machine_agents.workspace(machine_of(api, running_instance))) == before
        woke = api.get("/api/metrics/hibernation/events").json()["events"][0]
        assert woke["woke_at"] is not None
    finally:
        stack.machine_agents.set_gpu_utilization(None, 0.0)
        api.post("/api/v1/serverless/disable", json={"instance_id": running_instance})


def test_a_busy_gpu_and_a_silent_agent_never_count_as_idle(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    machine = machine_of(api, running_instance)
    stack.machine_agents.set_gpu_utilization(machine, 85.0)
    enable(api, running_instance)
    let_a_window_pass(stack)
    busy = api.get(f"/api/v1/serverless/status/{running_instance}").json()["data"]
    assert busy["state"] == "active" and busy["gpu_utilization"] == 85.0
    assert api.get(f"/api/v1/instances/{running_instance}").json()["data"]["status"] == "running"

    # The agent dies while the GPU would read idle: no heartbeats is not idleness (and, failover being
    # off, silence alone does not take the machine for lost either).
    stack.machine_agents.set_gpu_utilization(machine, 0.0)
    stack.machine_agents.kill_agent(machine)
    let_a_window_pass(stack)
    assert api.get(f"/api/v1/instances/{running_instance}").json()["data"]["status"] == "running"
    api.post("/api/v1/serverless/disable", json={"instance_id": running_instance})


def test_metrics_come_from_heartbeats(api: httpx.Client, stack: LocalStack, running_instance: str) -> None:
    stack.machine_agents.set_gpu_utilization(machine_of(api, running_instance), 42.0)

    def reported() -> bool:
        detail = api.get(f"/api/v1/instances/{running_instance}").json()["data"]
        return bool(detail["metrics"]["gpu_utilization"] == 42.0)

    # Until a heartbeat carried the new load, however long the machine takes to send one.
    assert eventually(reported, seconds=30), "no heartbeat carried the GPU load"
    answer = api.get(
        f"/api/v1/instances/{running_instance}/metrics", params={"period": "1h", "metrics": "gpu_util,cpu"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["instance_id"] == running_instance and body["period"] == "1h"
    assert body["data"] and body["data"][-1]["gpu_utilization"] is not None
    assert body["data"][-1]["gpu_memory_used_gb"] is None, "only the metrics asked for"
    detail = api.get(f"/api/v1/instances/{running_instance}").json()["data"]
    assert detail["metrics"]["gpu_utilization"] == 42.0
    assert detail["metrics"]["gpu_memory_used_gb"] is not None
    for period in ("24h", "7d", "30d"):
        assert (
            api.get(f"/api/v1/instances/{running_instance}/metrics", params={"period": period}).status_code
            == 200
        )
    bad = api.get(f"/api/v1/instances/{running_instance}/metrics", params={"metrics": "gpu_util,disk"})
    assert bad.status_code == 400 and "disk" in bad.json()["error"]["message"]


def test_the_machines_log_lines_reach_the_instance_logs(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    machine_log = stack.machine_agents.machine_log(machine_of(api, running_instance))
    with machine_log.open("a") as log:
        log.write("epoch 1: loss 0.93\nepoch 2: loss 0.71\n")
    deadline = time.monotonic() + 15
    messages: list[str] = []
    while time.monotonic() < deadline:
        answer = api.get(f"/api/v1/instances/{running_instance}/logs", params={"lines": 50})
        assert answer.status_code == 200, answer.text
        messages = [line["message"] for line in answer.json()["data"]["lines"]]
        if any("epoch 2" in message for message in messages):
            break
        time.sleep(0.5)
    assert [message for message in messages if "epoch" in message] == [
        "machine.log: epoch 1: loss 0.93",
        "machine.log: epoch 2: loss 0.71",
    ]
    last = api.get(f"/api/v1/instances/{running_instance}/logs", params={"lines": 1}).json()["data"]["lines"]
    assert [line["message"] for line in last] == ["machine.log: epoch 2: loss 0.71"]
    later = api.get(
        f"/api/v1/instances/{running_instance}/logs", params={"since": "2999-01-01T00:00:00Z"}
    ).json()["data"]["lines"]
    assert later == []
