"""A provider's uptime over HTTP: once one of our machines there has run and stopped, the providers
route answers a measured `uptime_percent` and says it is our own figure."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import eventually, wait_for_status

pytestmark = pytest.mark.e2e

BODY = {"gpu_type": "RTX_4090", "image": "pytorch/pytorch:2.0-cuda12.1", "disk_gb": 50}


def vast(api: httpx.Client) -> dict[str, object]:
    response = api.get("/api/metrics/providers")
    assert response.status_code == 200, response.text
    (provider,) = response.json()["providers"]
    assert provider["name"] == "Vast.ai"
    assert "provider's own" in provider["reliability_source"]
    return dict(provider)


def test_the_providers_uptime_is_measured_from_our_own_machines(api: httpx.Client) -> None:
    created = api.post("/api/v1/instances", json=BODY)
    assert created.status_code == 201, created.text
    instance_id = created.json()["data"]["id"]
    running = wait_for_status(api, instance_id, {"running", "failed"})
    assert running["status"] == "running", running["status_reason"]
    stopped = api.post(f"/api/v1/instances/{instance_id}/stop")
    assert stopped.status_code == 202, stopped.text
    wait_for_status(api, instance_id, {"stopped"})

    assert eventually(lambda: vast(api)["uptime_percent"] is not None), "its run time is counted"
    provider = vast(api)
    assert 0 < float(str(provider["uptime_percent"])) <= 100
    assert str(provider["uptime_source"]).startswith("our own machines")
    assert api.delete(f"/api/v1/instances/{instance_id}").status_code == 202
