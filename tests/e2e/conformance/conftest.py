"""What the conformance suite calls the documented endpoints on: a few instances, a snapshot, a team, made
once on the e2e tests' one local stack and brought into the state each call needs, and removed at the end."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx
import pytest

from local_stack.machine_agents import agent_environment
from local_stack.stack import LocalStack
from tests.e2e.conftest import eventually, machine_of, wait_for_agent, wait_for_snapshot, wait_for_status

PASSWORD = "a long conformance password"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"
SETTLED = {"running", "stopped", "hibernated", "failed"}
"""States an instance stays in until asked otherwise; `interrupted` is left on its own by a failover."""


@dataclass
class World:
    """The resources the endpoints are called on, each made on first use."""

    api: httpx.Client
    stack: LocalStack
    made_instances: list[str] = field(default_factory=list)
    made_webhooks: list[str] = field(default_factory=list)
    answers: dict[str, httpx.Response] = field(default_factory=dict)
    """What the creates behind the resources below answered, by resource."""

    def instance_made(self, response: httpx.Response, *path: str) -> httpx.Response:
        """Remember the instance a create answered, to delete it at the end."""
        body: Any = response.json() if response.status_code < 300 else None
        for key in path:
            body = body[key] if isinstance(body, dict) else None
        if isinstance(body, str):
            self.made_instances.append(body)
        return response

    def webhook_made(self, response: httpx.Response) -> httpx.Response:
        if response.status_code < 300:
            body = response.json()
            self.made_webhooks.append(str(body.get("data", body).get("id")))
        return response

    def _running(self, **body: Any) -> str:
        created = self.api.post("/api/v1/instances", json={"gpu_type": "RTX_4090", **body})
        assert created.status_code == 201, created.text
        instance_id = str(created.json()["data"]["id"])
        self.made_instances.append(instance_id)
        assert wait_for_status(self.api, instance_id, {"running", "failed"})["status"] == "running"
        wait_for_agent(self.api, instance_id)
        return instance_id

    @cached_property
    def instance(self) -> str:
        """Running, its agent reporting: every read, the snapshots, the failover and serverless settings."""
        return self._running(ssh_key=SSH_KEY)

    @cached_property
    def power(self) -> str:
        """Stopped, started, rebooted and deleted through the v1 routes; its snapshot is deleted."""
        return self._running()

    @cached_property
    def sleeper(self) -> str:
        """Paused and resumed (serverless), hibernated and woken (legacy), then terminated."""
        return self._running()

    def status(self, instance_id: str) -> str:
        return str(self.api.get(f"/api/v1/instances/{instance_id}").json()["data"]["status"])

    def settle(self, instance_id: str, wanted: set[str]) -> str:
        """Wait until the instance is in one of `wanted` (or settled elsewhere); its status."""
        return str(wait_for_status(self.api, instance_id, wanted | SETTLED)["status"])

    def in_state(self, instance_id: str, wanted: str, get_there: Callable[[], httpx.Response]) -> str:
        """The instance in `wanted`, asking for it with `get_there` if it is settled in another state."""
        if self.settle(instance_id, {wanted}) != wanted:
            asked = get_there()
            assert asked.status_code < 300, asked.text
            assert self.settle(instance_id, {wanted}) == wanted
        return instance_id

    def running(self, instance_id: str) -> str:
        """The instance running: started if it is stopped, woken if it is hibernated."""

        def get_there() -> httpx.Response:
            if self.status(instance_id) == "hibernated":
                return self.api.post(f"/api/instances/{instance_id}/wake")
            return self.api.post(f"/api/v1/instances/{instance_id}/start")

        return self.in_state(instance_id, "running", get_there)

    @cached_property
    def snapshot(self) -> str:
        """A completed snapshot of `instance`, taken through the v1 route."""
        taken = self.api.post("/api/v1/snapshots", json={"instance_id": self.instance, "name": "conformance"})
        self.answers["snapshot"] = taken
        assert taken.status_code < 300, taken.text
        snapshot_id = str(taken.json()["data"]["id"])
        assert wait_for_snapshot(self.api, snapshot_id)["status"] == "completed"
        return snapshot_id

    @cached_property
    def legacy_snapshot(self) -> str:
        """A snapshot taken through the legacy route, as seed 002 shows, of `power`: it is deleted later, and
        `instance` must keep the snapshots its failover drill restores from."""
        body = {"instance_id": self.running(self.power), "name": "Before Upgrade", "compression": "lz4"}
        taken = self.api.post("/api/snapshots", json=body)
        self.answers["legacy_snapshot"] = taken
        assert taken.status_code < 300, taken.text
        return str(taken.json()["snapshot_id"])

    @cached_property
    def member_email(self) -> str:
        """A registered account, to log in as and to add to a team."""
        email = f"conformance-{secrets.token_hex(4)}@example.com"
        registered = self.api.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        return email

    @cached_property
    def team(self) -> str:
        created = self.api.post("/api/v1/teams", json={"name": f"conformance-{secrets.token_hex(3)}"})
        self.answers["team"] = created
        assert created.status_code == 201, created.text
        return str(created.json()["data"]["id"])

    def agent(self, instance_id: str) -> httpx.Client:
        """A client with the agent token of the machine the instance runs on now, its agent reporting."""
        wait_for_agent(self.api, self.running(instance_id))
        machine_id = machine_of(self.api, instance_id)
        machine = next(each for each in self.stack.marketplace.machines() if each["id"] == machine_id)
        environment = agent_environment(machine["onstart"])
        assert environment is not None
        token = environment["DUMONT_AGENT_TOKEN"]
        return httpx.Client(base_url=self.stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def anonymous(self) -> httpx.Client:
        return httpx.Client(base_url=self.stack.url, timeout=30)

    def until(self, call: Callable[[], httpx.Response], ready: Callable[[Any], bool]) -> httpx.Response:
        """`call`, repeated until its answer is `ready` (data that only exists once the stack has run a
        while: metric points, settled costs); its last answer either way."""
        answers: list[httpx.Response] = []

        def answered() -> bool:
            answers.append(call())
            return answers[-1].status_code >= 300 or ready(answers[-1].json())

        eventually(answered, seconds=60)
        return answers[-1]

    def clean_up(self) -> None:
        for webhook_id in self.made_webhooks:
            self.api.delete(f"/api/v1/webhooks/{webhook_id}")
        for instance_id in self.made_instances:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                answer = self.api.delete(f"/api/v1/instances/{instance_id}")
                # Refused while it moves between states; already deleted (or going) is as good as done.
                if answer.status_code != 409 or _state_of(answer) in ("deleting", "deleted"):
                    break
                time.sleep(0.5)


def _state_of(refusal: httpx.Response) -> str | None:
    state: str | None = refusal.json().get("error", {}).get("details", {}).get("current_state")
    return state


@pytest.fixture(scope="module")
def world(api: httpx.Client, stack: LocalStack) -> Iterator[World]:
    made = World(api=api, stack=stack)
    try:
        yield made
    finally:
        made.clean_up()
