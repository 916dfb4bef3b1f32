"""The instance routes: creating through both API versions, every way to list and read, the power
actions, and deleting."""

from __future__ import annotations

import httpx

from benchmarks.dynamodb_requests.client import BenchClient


def _created_id(response: httpx.Response) -> str:
    if response.status_code != 201:
        raise RuntimeError(f"could not create an instance: {response.status_code} {response.text}")
    payload = response.json()
    return str(payload["data"]["id"] if "data" in payload else payload["id"])


def exercise_creating_and_reading(client: BenchClient) -> tuple[str, str]:
    """Create an instance through each API version, wait until both run with their agents reporting, and
    read them with each filter. Returns the two instances' ids."""
    client.measure("GET", "/api/v1/instances", case="no instances yet")

    first = _created_id(
        client.measure(
            "POST", "/api/v1/instances", expected_status=201, body={"gpu_type": "RTX_4090", "disk_gb": 50}
        )
    )
    second = _created_id(
        client.measure(
            "POST", "/api/instances", expected_status=201, body={"gpu": "RTX 4090", "disk_size": 40}
        )
    )
    for instance_id in (first, second):
        client.wait_for(instance_id, "running")
        client.wait_for_agent(instance_id)
    client.measure("GET", "/api/agent/instances", case="2 machines reporting")

    client.measure("GET", "/api/v1/instances", case="2 instances")
    client.measure("GET", "/api/v1/instances", case="?status=running", query={"status": "running"})
    client.measure("GET", "/api/v1/instances", case="?gpu_type=RTX_4090", query={"gpu_type": "RTX_4090"})
    client.measure(
        "GET",
        "/api/v1/instances",
        case="?status&gpu_type&page&per_page",
        query={"status": "running", "gpu_type": "A100", "page": "1", "per_page": "10"},
    )
    client.measure("GET", f"/api/v1/instances/{first}")
    client.measure("GET", "/api/v1/instances/inst_0000000000000000", case="unknown id", expected_status=404)
    client.measure("GET", f"/api/v1/instances/{first}/events")
    client.measure("GET", "/api/machines")
    client.measure("GET", f"/api/instances/{second}")
    return first, second


def exercise_power_and_deleting(client: BenchClient, first: str, second: str) -> None:
    """Reboot, a refused start, stop and start the first instance; then delete both."""
    client.measure("POST", f"/api/v1/instances/{first}/reboot", expected_status=202)
    client.wait_for(first, "running")
    client.measure("POST", f"/api/v1/instances/{first}/start", case="refused: running", expected_status=409)
    client.measure("POST", f"/api/v1/instances/{first}/stop", expected_status=202)
    client.wait_for(first, "stopped")
    client.measure("POST", f"/api/v1/instances/{first}/start", expected_status=202)
    client.wait_for(first, "running")

    client.measure("DELETE", f"/api/v1/instances/{first}", expected_status=202)
    client.measure("DELETE", f"/api/instances/{second}")
    client.wait_for(first, "deleted")
    client.wait_for(second, "deleted")
    client.measure("GET", "/api/v1/instances", case="?status=deleted", query={"status": "deleted"})
