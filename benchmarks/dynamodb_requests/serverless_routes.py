"""The serverless routes and the hibernation routes, with the instance's metrics and logs that the
agent's heartbeats fill, and the failover routes with a drill."""

from __future__ import annotations

from benchmarks.dynamodb_requests.client import BenchClient


def exercise_serverless_and_hibernation(client: BenchClient, instance_id: str) -> None:
    """Serverless mode, the agent's metrics and logs, and two rounds of hibernating and waking."""
    client.measure(
        "POST",
        "/api/v1/serverless/enable",
        body={"instance_id": instance_id, "idle_timeout_minutes": 10, "gpu_threshold": 5},
    )
    client.measure("GET", f"/api/v1/serverless/status/{instance_id}")
    client.measure(
        "GET", f"/api/v1/instances/{instance_id}/metrics", case="?period=1h", query={"period": "1h"}
    )
    client.measure(
        "GET", f"/api/v1/instances/{instance_id}/metrics", case="?period=30d", query={"period": "30d"}
    )
    client.measure("GET", f"/api/v1/instances/{instance_id}/logs")

    client.measure("POST", f"/api/instances/{instance_id}/hibernate")
    client.wait_for(instance_id, "hibernated", giving_up_on=("failed", "running"))
    client.measure("POST", f"/api/instances/{instance_id}/wake")
    client.wait_for(instance_id, "running", giving_up_on=("failed", "hibernated"))
    client.wait_for_agent(instance_id)

    client.measure("POST", f"/api/v1/serverless/pause/{instance_id}")
    client.wait_for(instance_id, "hibernated", giving_up_on=("failed", "running"))
    client.measure("POST", f"/api/v1/serverless/resume/{instance_id}")
    client.wait_for(instance_id, "running", giving_up_on=("failed", "hibernated"))
    client.measure("POST", "/api/v1/serverless/disable", body={"instance_id": instance_id})
    client.measure("GET", "/api/metrics/hibernation/events", case="2 hibernations")


def exercise_failover(client: BenchClient, instance_id: str) -> None:
    """Failover set up, read, and drilled on a running instance whose last hibernation left a snapshot."""
    client.measure(
        "POST",
        "/api/v1/failover/configure",
        body={"instance_id": instance_id, "enabled": True, "checkpoint_interval_minutes": 5},
    )
    client.measure("GET", f"/api/v1/failover/status/{instance_id}")
    client.measure("POST", f"/api/v1/failover/trigger/{instance_id}", case="a drill", expected_status=202)
    client.wait_for(instance_id, "running", giving_up_on=("failed", "hibernated"))
    client.wait_for_agent(instance_id)
    client.measure("GET", f"/api/v1/failover/status/{instance_id}", case="after a drill")
