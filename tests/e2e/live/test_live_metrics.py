"""Live metrics over a real WebSocket client: `/ws/instance/{id}/metrics` on the local stack's port, with
the REST API's credentials, pushed at each heartbeat of the instance's agent (seed 002)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from dumont_core import composition
from dumont_core.live.models import LiveConnection
from local_stack.stack import LocalStack
from tests.e2e.conftest import eventually, machine_of, wait_for_agent, wait_for_status

pytestmark = pytest.mark.e2e

PAYLOAD_FIELDS = {"timestamp", "gpu_utilization", "vram_used_gb", "cost_accumulated"}
HEARTBEAT_WAIT_SECONDS = 20


def ws_url(stack: LocalStack, instance_id: str, query: str = "") -> str:
    return stack.url.replace("http://", "ws://") + f"/ws/instance/{instance_id}/metrics{query}"


def refusal(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers=headers, open_timeout=10).close()
    response = refused.value.response
    return response.status_code, json.loads(response.body or b"{}")


def next_message(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(socket.recv(timeout=HEARTBEAT_WAIT_SECONDS))
    return message


def connections_watching(stack: LocalStack, instance_id: str) -> int:
    """How many connections the instance's heartbeats are pushed to, and the table keeps."""
    instance = composition.instance_repository().get(team_of(stack), instance_id)
    assert instance is not None
    kept = [each for each in instance.watchers if composition.connection_repository().find(each)]
    assert len(kept) == len(instance.watchers), "every watcher of the instance is a connection kept"
    return len(kept)


def team_of(stack: LocalStack) -> str:
    with httpx.Client(base_url=stack.url, headers={"X-API-Key": stack.api_key}, timeout=30) as api:
        return str(next(team["id"] for team in api.get("/api/v1/teams").json()["data"] if team["current"]))


@pytest.fixture(scope="module")
def running_instance(api: httpx.Client) -> Iterator[str]:
    """One instance whose agent reports, watched by every test here."""
    created = api.post("/api/v1/instances", json={"gpu_type": "RTX_4090"})
    assert created.status_code == 201, created.text
    instance_id = str(created.json()["data"]["id"])
    assert wait_for_status(api, instance_id, {"running", "failed"})["status"] == "running"
    wait_for_agent(api, instance_id)
    yield instance_id
    api.delete(f"/api/v1/instances/{instance_id}")


def new_teams_key(stack: LocalStack) -> str:
    email, password = f"live-{secrets.token_hex(4)}@example.com", "a long enough password"
    with httpx.Client(base_url=stack.url, timeout=30) as anonymous:
        assert anonymous.post("/api/v1/auth/register", json={"email": email, "password": password}).is_success
        token = anonymous.post("/api/v1/auth/login", json={"email": email, "password": password}).json()
        created = anonymous.post(
            "/api/v1/api-keys",
            json={"name": "live"},
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["key"])


def test_an_api_key_on_the_url_receives_each_heartbeat_with_seed_002s_payload(
    stack: LocalStack, api: httpx.Client, running_instance: str
) -> None:
    stack.machine_agents.set_gpu_utilization(machine_of(api, running_instance), 73.0)

    with connect(ws_url(stack, running_instance, f"?token={stack.api_key}"), open_timeout=10) as socket:
        assert eventually(lambda: connections_watching(stack, running_instance) == 1, 10)
        first, second = next_message(socket), next_message(socket)

    assert set(first) == PAYLOAD_FIELDS
    assert first["timestamp"].endswith("Z") and first["timestamp"] < second["timestamp"]
    assert second["gpu_utilization"] == 73.0
    assert isinstance(second["vram_used_gb"], float)
    instance = api.get(f"/api/v1/instances/{running_instance}").json()["data"]
    assert 0 < second["cost_accumulated"] <= instance["cost_accumulated"]
    # The close was heard: the connection is forgotten.
    assert eventually(lambda: connections_watching(stack, running_instance) == 0, 10)


def test_credentials_in_headers_work_as_on_the_rest_api(stack: LocalStack, running_instance: str) -> None:
    for headers in ({"X-API-Key": stack.api_key}, {"Authorization": f"Bearer {stack.api_key}"}):
        with connect(ws_url(stack, running_instance), additional_headers=headers, open_timeout=10) as socket:
            assert set(next_message(socket)) == PAYLOAD_FIELDS
    assert eventually(lambda: connections_watching(stack, running_instance) == 0, 10)


def test_no_credential_or_a_wrong_one_is_refused_before_the_upgrade(
    stack: LocalStack, running_instance: str
) -> None:
    status, body = refusal(ws_url(stack, running_instance))
    assert status == 401 and body["error"]["code"] == "UNAUTHENTICATED"
    assert "token" in body["error"]["message"]

    status, body = refusal(ws_url(stack, running_instance, "?token=dumont_sk_not-a-key"))
    assert status == 401 and body["success"] is False
    assert connections_watching(stack, running_instance) == 0


def test_another_teams_instance_is_not_found_and_nothing_of_it_is_sent(
    stack: LocalStack, running_instance: str
) -> None:
    status, body = refusal(ws_url(stack, running_instance, f"?token={new_teams_key(stack)}"))

    assert status == 404 and body["error"]["code"] == "INSTANCE_NOT_FOUND"
    assert connections_watching(stack, running_instance) == 0
    status, body = refusal(ws_url(stack, "inst_doesnotexist", f"?token={stack.api_key}"))
    assert status == 404


def test_a_plain_request_to_the_websocket_path_is_told_to_upgrade(stack: LocalStack) -> None:
    response = httpx.get(stack.url + "/ws/instance/inst_x/metrics")

    assert response.status_code == 426
    assert response.json()["error"]["code"] == "UPGRADE_REQUIRED"


def test_a_connection_that_went_away_unheard_is_pruned_at_the_next_heartbeat(
    stack: LocalStack, api: httpx.Client, running_instance: str
) -> None:
    # As if API Gateway's close had been lost: the instance keeps a connection its Management API calls gone.
    lost = LiveConnection(
        connection_id="lost-connection",
        instance_id=running_instance,
        team_id=team_of(stack),
        account_id="acct_whoever",
        connected_at=datetime.now(UTC),
    )
    assert composition.connection_repository().add(lost)
    composition.instance_watchers().watch(lost.team_id, running_instance, lost.connection_id)

    # The next heartbeat (within a second) pushes to it, hears it is gone, and forgets it on both sides.
    assert eventually(
        lambda: composition.connection_repository().find(lost.connection_id) is None, HEARTBEAT_WAIT_SECONDS
    )
    assert connections_watching(stack, running_instance) == 0
