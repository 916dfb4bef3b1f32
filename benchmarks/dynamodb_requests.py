"""DynamoDB requests per API request, route by route, on the local stack.

Every AWS call goes through botocore's `BaseClient._make_api_call` (pynamodb's included); it is
wrapped to count calls into a thread-local counter. The counter is active only while the API
function or the authorizer runs for a request the bench sent, in the thread that runs it: the
workflows that Step Functions runs at the same time call AWS from other threads and are not counted.
Retries inside botocore count once.

The agents on the simulated machines call the API on their own, every few seconds, while the bench
runs. So each request of the bench carries a marker header with a number of its own; only the API and
authorizer runs whose event carries a marker are counted, and an authorizer run is paired with the
API run that carries the same marker.

The authorizer's requests are reported apart from the route's: it runs before every non-public
route, and checking the caller plus counting the request against their plan must cost at most one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import httpx
from botocore.client import BaseClient

from benchmarks.report import heading, legend, table
from infra.topology import API_ROUTES, Route
from local_stack.embedded_aws import STACK_PREFIX, TABLE_NAME
from local_stack.front import api_function_name, authorizer_function_name
from local_stack.machine_agents import agent_environment
from local_stack.stack import LocalStack, LocalStackConfig

READ_LIMIT = 2
WRITE_LIMIT = 3
AUTHORIZER_LIMIT = 1
TARGETS = (
    f"reads ≤ {READ_LIMIT} requests, writes ≤ {WRITE_LIMIT}, the authorizer ≤ {AUTHORIZER_LIMIT}, "
    "never a Scan"
)
WAIT_SECONDS = 60.0
POLL_INTERVAL_SECONDS = 0.2
BENCH_REQUEST_HEADER = "X-Bench-Request"
AGENT_HEARTBEAT_SECONDS = 1
BUSY_GPU_PERCENT = 90.0
"""The simulated GPUs' load: well above any idle threshold, so serverless mode never hibernates an
instance by itself while the bench measures it."""

_counting = threading.local()


def _counter() -> Counter[tuple[str, str]] | None:
    counter: Counter[tuple[str, str]] | None = getattr(_counting, "counter", None)
    return counter


@contextmanager
def counting_aws_calls() -> Iterator[None]:
    """Count every botocore call made while a thread's counter is active."""
    original = vars(BaseClient)["_make_api_call"]

    def make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        counter = _counter()
        if counter is not None:
            counter[(client.meta.service_model.service_name, operation_name)] += 1
        return original(client, operation_name, api_params)

    with mock.patch.object(BaseClient, "_make_api_call", make_api_call):
        yield


@dataclass(frozen=True)
class Invocation:
    method: str
    resource: str
    calls: Counter[tuple[str, str]]
    authorizer_calls: Counter[tuple[str, str]] | None
    """None: the route is public and no authorizer ran."""


def bench_marker(event: Any) -> str | None:
    """The marker of the bench's request that caused this invocation; None for anyone else's."""
    headers = event.get("headers") if isinstance(event, dict) else None
    for name, value in (headers or {}).items():
        # API Gateway passes header names as the client spelled them.
        if name.lower() == BENCH_REQUEST_HEADER.lower():
            return str(value)
    return None


class ApiInvocationRecorder:
    """Stands in for the runtime's `invoke`; counts AWS calls while the authorizer and the API
    function run for one of the bench's requests, and keeps them by the request's marker.

    Invocations without a marker (the machines' agents, housekeeping, workflows) run uncounted.
    """

    def __init__(
        self, invoke: Callable[[str, Any], Any], api_function_name: str, authorizer_name: str
    ) -> None:
        self._invoke = invoke
        self._api_function_name = api_function_name
        self._authorizer_name = authorizer_name
        self._lock = threading.Lock()
        self._invocations: dict[str, list[Invocation]] = {}
        self._authorizer_calls: dict[str, Counter[tuple[str, str]]] = {}

    def __call__(self, function_name: str, event: Any) -> Any:
        measured = function_name in (self._api_function_name, self._authorizer_name)
        marker = bench_marker(event) if measured else None
        if marker is None:
            return self._invoke(function_name, event)
        calls: Counter[tuple[str, str]] = Counter()
        outer = _counter()
        _counting.counter = calls
        try:
            return self._invoke(function_name, event)
        finally:
            _counting.counter = outer
            with self._lock:
                if function_name == self._authorizer_name:
                    self._authorizer_calls[marker] = calls
                else:
                    invocation = Invocation(
                        event["httpMethod"],
                        event["resource"],
                        calls,
                        self._authorizer_calls.pop(marker, None),
                    )
                    self._invocations.setdefault(marker, []).append(invocation)

    def take(self, marker: str) -> list[Invocation]:
        """The API runs the request with this marker caused (an authorizer run that refused it is dropped)."""
        with self._lock:
            self._authorizer_calls.pop(marker, None)
            return self._invocations.pop(marker, [])


@dataclass(frozen=True)
class Measurement:
    route: Route
    case: str
    status: int
    expected_status: int
    calls: Counter[tuple[str, str]]
    authorizer_calls: Counter[tuple[str, str]] | None

    @property
    def dynamodb(self) -> Counter[str]:
        return _dynamodb(self.calls)

    @property
    def authorizer_dynamodb(self) -> Counter[str] | None:
        return None if self.authorizer_calls is None else _dynamodb(self.authorizer_calls)

    @property
    def others(self) -> Counter[str]:
        return Counter({op: n for (service, op), n in self.calls.items() if service != "dynamodb"})

    @property
    def total(self) -> int:
        return sum(self.dynamodb.values())

    @property
    def is_read(self) -> bool:
        return self.route.method == "GET"

    @property
    def limit(self) -> int:
        return READ_LIMIT if self.is_read else WRITE_LIMIT

    @property
    def problems(self) -> list[str]:
        found = []
        if self.status != self.expected_status:
            found.append(f"answered {self.status}, expected {self.expected_status}")
        if self.total > self.limit:
            found.append(f"{self.total} requests > {self.limit} per {'read' if self.is_read else 'write'}")
        authorizer = self.authorizer_dynamodb
        if not self.route.public and authorizer is None:
            found.append("the authorizer did not run")
        if authorizer is not None and sum(authorizer.values()) > AUTHORIZER_LIMIT:
            found.append(f"authorizer made {sum(authorizer.values())} requests > {AUTHORIZER_LIMIT}")
        if self.dynamodb["Scan"] or (authorizer is not None and authorizer["Scan"]):
            found.append("Scan")
        return found


def _dynamodb(calls: Counter[tuple[str, str]]) -> Counter[str]:
    return Counter({op: n for (service, op), n in calls.items() if service == "dynamodb"})


def _credentials(bearer: str | None) -> dict[str, str] | None:
    # An empty API key overrides the client's own, so the bearer token is the only credential sent.
    return {"X-API-Key": "", "Authorization": f"Bearer {bearer}"} if bearer else None


HEARTBEAT: dict[str, Any] = {
    "status": "running",
    "gpu_utilization": BUSY_GPU_PERCENT,
    "gpu_memory_used_gb": 21.6,
    "gpu_memory_total_gb": 24.0,
    "gpu_temperature": 71,
    "gpu_count": 1,
    "cpu_utilization": 35.0,
    "ram_used_gb": 12.5,
    "ram_total_gb": 64.0,
    "disk_used_gb": 1.2,
    "disk_total_gb": 50.0,
}
"""What an agent on a busy machine reports."""


class BenchClient:
    """Drives the API over HTTP and pairs each measured request with the API invocation it caused."""

    def __init__(self, stack: LocalStack, recorder: ApiInvocationRecorder) -> None:
        self._http = httpx.Client(
            base_url=stack.url, headers={"X-API-Key": stack.api_key}, timeout=30.0, trust_env=False
        )
        self._recorder = recorder
        self._markers = itertools.count(1)
        self._routes = {(route.method, route.path): route for route in API_ROUTES}
        self.measurements: list[Measurement] = []

    def close(self) -> None:
        self._http.close()

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, bearer: str | None = None
    ) -> httpx.Response:
        """Unmeasured: setup and polling. It carries no marker, so the recorder leaves it alone."""
        return self._http.request(method, path, json=body, headers=_credentials(bearer))

    def measure(
        self,
        method: str,
        path: str,
        *,
        case: str = "",
        expected_status: int = 200,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        bearer: str | None = None,
    ) -> httpx.Response:
        """`bearer`: call with `Authorization: Bearer …` (an access token, or an agent's token) instead of
        the API key."""
        marker = str(next(self._markers))
        headers = {**(_credentials(bearer) or {}), BENCH_REQUEST_HEADER: marker}
        response = self._http.request(method, path, json=body, params=query, headers=headers)
        invocations = self._recorder.take(marker)
        if len(invocations) != 1:
            raise RuntimeError(
                f"{method} {path} ran the API function {len(invocations)} times, expected once "
                f"(answered {response.status_code})"
            )
        invocation = invocations[0]
        route = self._routes[(invocation.method, invocation.resource)]
        self.measurements.append(
            Measurement(
                route,
                case,
                response.status_code,
                expected_status,
                invocation.calls,
                invocation.authorizer_calls,
            )
        )
        return response

    def wait_for(self, instance_id: str, status: str, *, giving_up_on: tuple[str, ...] = ("failed",)) -> None:
        """Until the instance is `status`; `giving_up_on`: statuses that mean it never will be."""
        deadline = time.monotonic() + WAIT_SECONDS
        current = reason = None
        while time.monotonic() < deadline:
            response = self.request("GET", f"/api/v1/instances/{instance_id}")
            instance = response.json()["data"] if response.status_code == 200 else {}
            current, reason = instance.get("status"), instance.get("status_reason")
            if current == status:
                return
            if current in giving_up_on:
                break
            time.sleep(POLL_INTERVAL_SECONDS)
        raise RuntimeError(f"{instance_id} did not become {status} (last seen: {current}, {reason})")

    def wait_for_agent(self, instance_id: str) -> None:
        """Until the agent on the instance's machine reports."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            agents = self.request("GET", "/api/agent/instances").json()["instances"]
            if any(agent["instance_id"] == instance_id and agent["health"] == "healthy" for agent in agents):
                return
            time.sleep(POLL_INTERVAL_SECONDS)
        raise RuntimeError(f"the agent of {instance_id} never reported")

    def wait_for_snapshot(self, snapshot_id: str, status: str = "completed") -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        snapshot: dict[str, Any] = {}
        while time.monotonic() < deadline:
            snapshot = self.request("GET", f"/api/v1/snapshots/{snapshot_id}").json()["data"]
            if snapshot["status"] == status:
                return
            if snapshot["status"] in ("completed", "failed"):
                break
            time.sleep(POLL_INTERVAL_SECONDS)
        raise RuntimeError(
            f"snapshot {snapshot_id} did not become {status} (last seen: {snapshot.get('status')}, "
            f"{snapshot.get('status_reason')})"
        )

    def offered_action(self, agent_token: str, snapshot_id: str) -> str:
        """Heartbeat as the instance's agent until an answer hands it the action on the snapshot."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            answer = self.request("POST", "/api/agent/status", HEARTBEAT, bearer=agent_token).json()
            for action in answer.get("actions", []):
                if action.get("snapshot_id") == snapshot_id:
                    return str(action["id"])
            time.sleep(POLL_INTERVAL_SECONDS)
        raise RuntimeError(f"no heartbeat answer offered an action on {snapshot_id}")


def _created_id(response: httpx.Response) -> str:
    if response.status_code != 201:
        raise RuntimeError(f"could not create an instance: {response.status_code} {response.text}")
    payload = response.json()
    return str(payload["data"]["id"] if "data" in payload else payload["id"])


def _machine_of(stack: LocalStack, instance_id: str) -> dict[str, Any]:
    """The marketplace machine the instance runs on now."""
    for machine in stack.marketplace.machines():
        if machine["label"] == instance_id and machine["actual_status"] == "running":
            return machine
    raise RuntimeError(f"no running machine carries {instance_id}")


def _agent_token(machine: dict[str, Any]) -> str:
    """The token our on-start script gave the machine's agent."""
    environment = agent_environment(machine["onstart"])
    if environment is None:
        raise RuntimeError(f"machine {machine['id']} starts no agent")
    return environment["DUMONT_AGENT_TOKEN"]


def _finished_action(stack: LocalStack, instance_id: str, action_type: str, snapshot_id: str) -> str:
    """Wait until the instance's agent completed the action of this type on the snapshot; its id.

    Read straight from the table: no route lists an instance's actions.
    """
    dynamodb = stack.aws.client("dynamodb")
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        items = dynamodb.query(
            TableName=TABLE_NAME,
            KeyConditionExpression="PK = :instance AND begins_with(SK, :action)",
            ExpressionAttributeValues={
                ":instance": {"S": f"INSTANCE#{instance_id}"},
                ":action": {"S": "ACTION#"},
            },
        )["Items"]
        for item in items:
            params = json.loads(item["params"]["S"])
            if item["action_type"]["S"] != action_type or params.get("snapshot_id") != snapshot_id:
                continue
            status = item["status"]["S"]
            if status == "completed":
                return str(item["action_id"]["S"])
            if status == "failed":
                raise RuntimeError(f"the {action_type} of {snapshot_id} failed: {item.get('error')}")
        time.sleep(POLL_INTERVAL_SECONDS)
    raise RuntimeError(f"the {action_type} of {snapshot_id} never finished")


def fill_workspace(stack: LocalStack, instance_id: str) -> None:
    """What a workspace holds: code, notes and a binary file, so a snapshot has chunks to store."""
    workspace = stack.machine_agents.workspace(_machine_of(stack, instance_id)["id"])
    (workspace / "src").mkdir(parents=True, exist_ok=True)
    (workspace / "src" / "train.py").write_text("import torch\n" * 500)
    (workspace / "notes.md").write_text("# run 7\n" + "loss went down\n" * 2000)
    (workspace / "weights.bin").write_bytes(os.urandom(1024 * 1024))


def exercise(client: BenchClient, stack: LocalStack) -> None:
    """Every route of the API, with the filters and outcomes that take different paths to the data."""
    client.measure("GET", "/health")
    client.measure("GET", "/docs")
    client.measure("GET", "/openapi.json")
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

    kept_snapshot, restore_action = exercise_snapshots(client, stack, first)
    exercise_agent_routes(client, stack, first, kept_snapshot, restore_action)
    exercise_agent_routes_mid_snapshot(client, stack, second)
    exercise_serverless_and_hibernation(client, first)

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

    exercise_accounts(client)


def exercise_snapshots(client: BenchClient, stack: LocalStack, instance_id: str) -> tuple[str, str]:
    """Take two snapshots, restore the first and delete it. Returns the snapshot kept, and the id of the
    restore the agent carried out."""
    fill_workspace(stack, instance_id)
    first = client.measure(
        "POST",
        "/api/v1/snapshots",
        expected_status=202,
        body={"instance_id": instance_id, "name": "before upgrade", "compression": "lz4"},
    ).json()["data"]["id"]
    client.wait_for_snapshot(first)
    client.measure("GET", "/api/v1/snapshots", case="1 snapshot")
    client.measure("GET", f"/api/v1/snapshots/{first}")
    client.measure("GET", "/api/v1/snapshots/snap_0000000000000000", case="unknown id", expected_status=404)

    workspace = stack.machine_agents.workspace(_machine_of(stack, instance_id)["id"])
    (workspace / "notes.md").write_text("# run 8\n")
    second = client.measure(
        "POST", "/api/snapshots", expected_status=202, body={"instance_id": instance_id, "name": "after"}
    ).json()["snapshot_id"]
    client.wait_for_snapshot(second)
    client.measure("GET", f"/api/snapshots/{second}")
    client.measure(
        "GET", "/api/v1/snapshots", case="2 snapshots, ?instance_id", query={"instance_id": instance_id}
    )

    client.measure(
        "POST", f"/api/v1/snapshots/{first}/restore", expected_status=202, body={"instance_id": instance_id}
    )
    restore_action = _finished_action(stack, instance_id, "restore", first)
    client.measure("DELETE", f"/api/v1/snapshots/{first}")
    return second, restore_action


def exercise_agent_routes(
    client: BenchClient, stack: LocalStack, instance_id: str, snapshot_id: str, finished_action_id: str
) -> None:
    """The agent's routes, called with the machine's own agent token while its agent runs.

    The agent carries out real actions within a heartbeat, so the outcomes that need an action or a
    snapshot in progress are measured on a machine whose agent the bench stands in for (below).
    """
    token = _agent_token(_machine_of(stack, instance_id))
    client.measure("POST", "/api/agent/status", case="no action waiting", body=HEARTBEAT, bearer=token)
    lines = [
        {
            "timestamp": datetime.now(UTC).isoformat(),
            "message": f"machine.log: epoch {epoch}: loss 0.{93 - epoch}",
        }
        for epoch in range(1, 4)
    ]
    client.measure("POST", "/api/agent/logs", case="3 lines", body={"lines": lines}, bearer=token)
    client.measure(
        "GET", f"/api/agent/snapshots/{snapshot_id}/downloads", case="completed snapshot", bearer=token
    )
    client.measure(
        "POST",
        f"/api/agent/snapshots/{snapshot_id}/uploads",
        case="refused: snapshot completed",
        expected_status=409,
        body={"chunks": []},
        bearer=token,
    )
    client.measure(
        "POST",
        f"/api/agent/actions/{finished_action_id}",
        case="completed again: a retried report",
        body={"status": "completed", "result": {}},
        bearer=token,
    )
    client.measure(
        "POST",
        "/api/agent/actions/act_00000000000000000000",
        case="unknown action",
        expected_status=404,
        body={"status": "running"},
        bearer=token,
    )


def exercise_agent_routes_mid_snapshot(client: BenchClient, stack: LocalStack, instance_id: str) -> None:
    """The bench stands in for the machine's agent through a snapshot: the heartbeat that hands out the
    action, the `running` report, the upload plan, and the final report that ends the workflow's wait.

    The machine's own agent is stopped first, so it does not take the action; the snapshot is reported
    failed in the end, since the bench uploads nothing.
    """
    machine = _machine_of(stack, instance_id)
    token = _agent_token(machine)
    stack.machine_agents.kill_agent(machine["id"])
    # A heartbeat already under way when the agent was stopped finishes; let it, so it cannot take the action.
    time.sleep(AGENT_HEARTBEAT_SECONDS * 2)
    created = client.request("POST", "/api/v1/snapshots", {"instance_id": instance_id, "name": "stand-in"})
    snapshot_id = created.json()["data"]["id"]
    action_id = client.offered_action(token, snapshot_id)
    client.measure("POST", "/api/agent/status", case="an action waiting", body=HEARTBEAT, bearer=token)
    client.measure(
        "POST", f"/api/agent/actions/{action_id}", case="running", body={"status": "running"}, bearer=token
    )
    chunks = [
        {
            "digest": hashlib.sha256(content).hexdigest(),
            "size": len(content),
            "stored_size": len(content) // 2,
        }
        for content in (b"workspace chunk one", b"workspace chunk two")
    ]
    client.measure(
        "POST",
        f"/api/agent/snapshots/{snapshot_id}/uploads",
        case="2 chunks, snapshot in progress",
        body={"chunks": chunks},
        bearer=token,
    )
    client.measure(
        "POST",
        f"/api/agent/actions/{action_id}",
        case="failed: ends the workflow's wait",
        body={"status": "failed", "error": "stopped after planning the uploads"},
        bearer=token,
    )
    client.wait_for_snapshot(snapshot_id, "failed")


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


def exercise_accounts(client: BenchClient) -> None:
    """Registration, logins, API keys, teams, members and roles."""
    credentials = {"email": "bench@example.com", "password": "a bench password"}
    client.measure("POST", "/api/v1/auth/register", body=credentials, expected_status=201)
    client.measure("POST", "/api/v1/auth/login", body=credentials)
    token = client.measure("POST", "/api/auth/login", body=credentials).json()["access_token"]
    client.measure("GET", "/api/v1/instances", case="with an access token", bearer=token)
    key = client.measure("POST", "/api/v1/api-keys", body={"name": "bench"}, expected_status=201)
    client.measure("GET", "/api/v1/api-keys")
    client.measure("DELETE", f"/api/v1/api-keys/{key.json()['data']['id']}")

    teams = client.measure("GET", "/api/v1/teams").json()["data"]
    team_id = next(team["id"] for team in teams if team["current"])
    client.measure("POST", "/api/v1/teams", body={"name": "bench"}, expected_status=201)
    client.measure("GET", "/api/v1/roles")
    client.measure(
        "POST",
        "/api/v1/roles",
        body={"name": "operator", "permissions": ["instances.view"]},
        expected_status=201,
    )
    member = client.measure(
        "POST",
        f"/api/v1/teams/{team_id}/members",
        body={"email": credentials["email"], "role": "viewer"},
        expected_status=201,
    ).json()["data"]["account_id"]
    client.measure(
        "POST",
        "/api/v1/auth/login",
        case="into another team",
        body={**credentials, "team_id": team_id},
    )
    client.measure("GET", f"/api/v1/teams/{team_id}")
    client.measure("GET", f"/api/v1/teams/{team_id}/members")
    client.measure("PATCH", f"/api/v1/teams/{team_id}/members/{member}", body={"role": "developer"})
    client.measure(
        "PATCH",
        f"/api/v1/teams/{team_id}/members/{member}",
        case="to a custom role",
        body={"role": "operator"},
    )
    client.measure("DELETE", f"/api/v1/teams/{team_id}/members/{member}")


EXPECTED_FAILURE_LOGGERS = {
    # The agent of a machine released by a hibernation has its last heartbeats refused.
    "dumont_agent": logging.CRITICAL,
    # The authorizer refusing those heartbeats, logged as a function error.
    "local-lambda": logging.WARNING,
    # The workflow of the snapshot the bench's stand-in agent reports failed.
    "moto.stepfunctions.parser": logging.CRITICAL,
}


@contextmanager
def quiet_expected_failures() -> Iterator[None]:
    """Keep failures the exercised flows cause on purpose out of the report; unexpected ones still stop
    the bench, through the answers it checks."""
    loggers = {logging.getLogger(name): level for name, level in EXPECTED_FAILURE_LOGGERS.items()}
    previous = {logger: logger.level for logger in loggers}
    for logger, level in loggers.items():
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, level in previous.items():
            logger.setLevel(level)


def measure() -> list[Measurement]:
    config = LocalStackConfig(
        port=0,
        boot_seconds=(0.2, 0.4),
        action_seconds=(0.2, 0.4),
        poll_seconds=1,
        seed=7,
        agent_heartbeat_seconds=AGENT_HEARTBEAT_SECONDS,
        gpu_utilization=BUSY_GPU_PERCENT,
    )
    stack = LocalStack(config)
    recorder = ApiInvocationRecorder(
        stack.aws.runtime.invoke, api_function_name(STACK_PREFIX), authorizer_function_name(STACK_PREFIX)
    )
    # The API front takes the runtime's `invoke` when the stack starts, so the recorder goes in first.
    with (
        quiet_expected_failures(),
        counting_aws_calls(),
        mock.patch.object(stack.aws.runtime, "invoke", recorder),
    ):
        stack.start()
        client = BenchClient(stack, recorder)
        try:
            exercise(client, stack)
        finally:
            client.close()
            stack.stop()
    return client.measurements


def _operations(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" if n > 1 else name for name, n in sorted(counts.items())) or "—"


def render(measurements: list[Measurement]) -> tuple[str, bool]:
    """The report, and whether every target holds and every route was measured."""
    rows = []
    for m in measurements:
        verdict = "FAIL: " + "; ".join(m.problems) if m.problems else f"ok (≤ {m.limit})"
        rows.append(
            [
                f"{m.route.method} {m.route.path}",
                m.case,
                str(m.status),
                _operations(m.dynamodb),
                str(m.total),
                "—" if m.authorizer_dynamodb is None else _operations(m.authorizer_dynamodb),
                _operations(m.others),
                verdict,
            ]
        )
    measured = {m.route for m in measurements}
    for route in API_ROUTES:
        if route not in measured:
            rows.append([f"{route.method} {route.path}", "", "", "", "", "", "", "FAIL: route not measured"])
    ok = all(not m.problems for m in measurements) and measured >= set(API_ROUTES)
    headers = [
        "route",
        "case",
        "status",
        "DynamoDB operations",
        "total",
        "authorizer",
        "other AWS calls",
        "verdict",
    ]
    explanations = [
        ("route", "method and path template as deployed (infra.topology.API_ROUTES)"),
        ("case", "what differs from the route's plain request: query string, data present, or outcome"),
        ("status", "HTTP status the API answered (the expected one, or the verdict says otherwise)"),
        ("DynamoDB operations", "DynamoDB requests made by the API function for this request, by operation"),
        ("total", "number of DynamoDB requests the API function made in all"),
        (
            "authorizer",
            "DynamoDB requests of the authorizer that ran before the route (— for public routes): one "
            "conditional UpdateItem checks the credential and counts the request against the plan",
        ),
        (
            "other AWS calls",
            "calls to other AWS services in the same request (EventBridge, Step Functions, S3, CloudWatch "
            "Logs, API Gateway)",
        ),
        ("verdict", f"against the targets: {TARGETS}"),
    ]
    failed = sum(1 for row in rows if row[-1].startswith("FAIL"))
    summary = (
        f"  All {len(rows)} requests within the targets ({TARGETS})."
        if ok
        else f"  FAILED: {failed} of {len(rows)} rows break the targets ({TARGETS}) or were not measured."
    )
    text = "\n".join(
        [
            heading("2. DynamoDB requests per API request"),
            table(headers, rows, right=(2, 4)),
            "",
            summary,
            "",
            legend(explanations),
        ]
    )
    return text, ok
