"""An instance's agent token reaches that instance's agent routes and nothing else."""

from __future__ import annotations

import httpx
import pytest

from local_stack.machine_agents import agent_environment
from local_stack.stack import LocalStack
from tests.e2e.conftest import machine_of

pytestmark = pytest.mark.e2e


def agent_token(stack: LocalStack, machine_id: int) -> str:
    machine = next(machine for machine in stack.marketplace.machines() if machine["id"] == machine_id)
    environment = agent_environment(machine["onstart"])
    assert environment is not None, "the machine's first boot starts our agent"
    return environment["DUMONT_AGENT_TOKEN"]


def test_an_agent_token_is_good_for_its_own_instance_only(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    token = agent_token(stack, machine_of(api, running_instance))
    assert token.startswith("dumont_ag_")
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}) as agent:
        beat = agent.post("/api/agent/status", json={"instance_id": running_instance, "gpu_utilization": 12})
        assert beat.status_code == 200, beat.text
        assert beat.json()["success"] is True and beat.json()["next_heartbeat_in_seconds"] >= 1
        assert "X-RateLimit-Limit" not in beat.headers, "agents are not counted against anyone's plan"

        other = agent.post("/api/agent/status", json={"instance_id": "inst_0000000000000000"})
        assert other.status_code == 403 and other.json()["error"]["code"] == "FORBIDDEN"
        # A member's routes need a plan's usage key, which an agent's token names none of: API Gateway
        # refuses before the API is reached, as the local front does.
        for method, path in (("GET", "/api/v1/instances"), ("GET", f"/api/v1/instances/{running_instance}")):
            refused = agent.request(method, path)
            assert refused.status_code == 401, (path, refused.text)
            assert refused.json()["error"]["code"] == "UNAUTHENTICATED"
        missing = agent.post("/api/agent/actions/act_0000000000000", json={"status": "running"})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "ACTION_NOT_FOUND"

    forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {forged}"}) as impostor:
        assert impostor.post("/api/agent/status", json={}).status_code == 401
