"""The bench's HTTP client: measured requests, each paired with the API run it caused, and unmeasured
ones for setting up and waiting."""

from __future__ import annotations

import itertools
import time
from typing import Any

import httpx

from benchmarks.dynamodb_requests.counting import BENCH_REQUEST_HEADER, ApiInvocationRecorder
from benchmarks.dynamodb_requests.verdicts import Measurement
from infra.topology import API_ROUTES
from local_stack.stack import LocalStack

WAIT_SECONDS = 60.0
POLL_INTERVAL_SECONDS = 0.2


def _credentials(bearer: str | None) -> dict[str, str] | None:
    # An empty API key overrides the client's own, so the bearer token is the only credential sent.
    return {"X-API-Key": "", "Authorization": f"Bearer {bearer}"} if bearer else None


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
