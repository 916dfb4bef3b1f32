"""One local stack for the whole e2e session, driven over HTTP as a client would."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from local_stack.stack import LocalStack, LocalStackConfig

TERMINAL_WAIT_SECONDS = 60


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    config = LocalStackConfig(
        port=0,
        boot_seconds=(0.3, 0.8),
        action_seconds=(0.2, 0.5),
        poll_seconds=1,
        boot_timeout_seconds=30,
        seed=1234,
        agent_heartbeat_seconds=1,
        # Long enough for a test workspace, short enough to see an agent that died time out.
        agent_action_timeout_seconds=12,
    )
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, headers={"X-API-Key": stack.api_key}, timeout=30) as client:
        yield client


def wait_for_status(
    api: httpx.Client, instance_id: str, wanted: set[str], timeout: float = TERMINAL_WAIT_SECONDS
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/api/v1/instances/{instance_id}")
        assert response.status_code == 200, response.text
        instance: dict[str, Any] = response.json()["data"]
        if instance["status"] in wanted:
            return instance
        if time.monotonic() > deadline:
            raise AssertionError(f"{instance_id} stayed {instance['status']}, never reached {wanted}")
        time.sleep(0.2)


@pytest.fixture
def create_instance(api: httpx.Client) -> Callable[..., str]:
    def create(**body: Any) -> str:
        response = api.post("/api/v1/instances", json={"gpu_type": "RTX_4090", **body})
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    return create
