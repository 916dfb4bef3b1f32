"""DynamoDB requests per API request, route by route, on the local stack.

Every AWS call goes through botocore's `BaseClient._make_api_call` (pynamodb's included); it is
wrapped to count calls into a thread-local counter. The counter is active only while the API
function or the authorizer runs, in the thread that runs it: the workflows that Step Functions runs
at the same time call AWS from other threads and are not counted. Retries inside botocore count once.
The authorizer's requests are reported apart from the route's: it runs before every non-public
route, and checking the caller plus counting the request against their plan must cost at most one.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import httpx
from botocore.client import BaseClient

from benchmarks.report import heading, legend, table
from infra.topology import API_ROUTES, Route
from local_stack.embedded_aws import STACK_PREFIX
from local_stack.front import api_function_name, authorizer_function_name
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


class ApiInvocationRecorder:
    """Stands in for the runtime's `invoke`; counts AWS calls while the authorizer and the API
    function run. Requests are made one at a time, so an authorizer run belongs to the API run after it.
    """

    def __init__(
        self, invoke: Callable[[str, Any], Any], api_function_name: str, authorizer_name: str
    ) -> None:
        self._invoke = invoke
        self._api_function_name = api_function_name
        self._authorizer_name = authorizer_name
        self._lock = threading.Lock()
        self._invocations: list[Invocation] = []
        self._authorizer_calls: Counter[tuple[str, str]] | None = None

    def __call__(self, function_name: str, event: Any) -> Any:
        if function_name not in (self._api_function_name, self._authorizer_name):
            return self._invoke(function_name, event)
        calls: Counter[tuple[str, str]] = Counter()
        _counting.counter = calls
        try:
            return self._invoke(function_name, event)
        finally:
            _counting.counter = None
            with self._lock:
                if function_name == self._authorizer_name:
                    self._authorizer_calls = calls
                else:
                    self._invocations.append(
                        Invocation(event["httpMethod"], event["resource"], calls, self._authorizer_calls)
                    )
                    self._authorizer_calls = None

    def take(self) -> list[Invocation]:
        with self._lock:
            taken, self._invocations = self._invocations, []
            self._authorizer_calls = None
        return taken


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


class BenchClient:
    """Drives the API over HTTP and pairs each request with the API invocation it caused."""

    def __init__(self, stack: LocalStack, recorder: ApiInvocationRecorder) -> None:
        self._http = httpx.Client(
            base_url=stack.url, headers={"X-API-Key": stack.api_key}, timeout=30.0, trust_env=False
        )
        self.token: str | None = None
        """An access token, once one is made; `measure(..., with_token=True)` calls with it."""
        self._recorder = recorder
        self._routes = {(route.method, route.path): route for route in API_ROUTES}
        self.measurements: list[Measurement] = []

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """Unmeasured: setup and polling."""
        self._recorder.take()
        response = self._http.request(method, path, json=body)
        self._recorder.take()
        return response

    def measure(
        self,
        method: str,
        path: str,
        *,
        case: str = "",
        expected_status: int = 200,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        with_token: bool = False,
    ) -> httpx.Response:
        headers = {"X-API-Key": "", "Authorization": f"Bearer {self.token}"} if with_token else None
        self._recorder.take()
        response = self._http.request(method, path, json=body, params=query, headers=headers)
        invocations = self._recorder.take()
        if len(invocations) != 1:
            raise RuntimeError(
                f"{method} {path} ran the API function {len(invocations)} times, expected once"
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

    def wait_for(self, instance_id: str, status: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        current = None
        while time.monotonic() < deadline:
            response = self.request("GET", f"/api/v1/instances/{instance_id}")
            current = response.json()["data"]["status"] if response.status_code == 200 else None
            if current == status:
                return
            if current == "failed":
                break
            time.sleep(POLL_INTERVAL_SECONDS)
        raise RuntimeError(f"{instance_id} did not become {status} (last seen: {current})")


def _created_id(response: httpx.Response) -> str:
    if response.status_code != 201:
        raise RuntimeError(f"could not create an instance: {response.status_code} {response.text}")
    payload = response.json()
    return str(payload["data"]["id"] if "data" in payload else payload["id"])


def exercise(client: BenchClient) -> None:
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
    client.wait_for(first, "running")
    client.wait_for(second, "running")

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

    credentials = {"email": "bench@example.com", "password": "a bench password"}
    client.measure("POST", "/api/v1/auth/register", body=credentials, expected_status=201)
    client.measure("POST", "/api/v1/auth/login", body=credentials)
    client.token = client.measure("POST", "/api/auth/login", body=credentials).json()["access_token"]
    client.measure("GET", "/api/v1/instances", case="with an access token", with_token=True)
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


def measure() -> list[Measurement]:
    config = LocalStackConfig(
        port=0, boot_seconds=(0.2, 0.4), action_seconds=(0.2, 0.4), poll_seconds=1, seed=7
    )
    stack = LocalStack(config)
    recorder = ApiInvocationRecorder(
        stack.aws.runtime.invoke, api_function_name(STACK_PREFIX), authorizer_function_name(STACK_PREFIX)
    )
    # The API front takes the runtime's `invoke` when the stack starts, so the recorder goes in first.
    with counting_aws_calls(), mock.patch.object(stack.aws.runtime, "invoke", recorder):
        stack.start()
        client = BenchClient(stack, recorder)
        try:
            exercise(client)
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
        ("other AWS calls", "calls to other AWS services in the same request (EventBridge, Step Functions)"),
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
