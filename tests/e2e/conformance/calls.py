"""How the conformance suite calls each documented endpoint (the table of `test_seed_endpoints`): requests
as the seeds show them, on the resources of `World`, and how an answer's fields are looked for and their
values checked against what the seeds show."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from tests.e2e.conformance.conftest import PASSWORD, SSH_KEY, World
from tests.e2e.conftest import wait_for_snapshot

Call = Callable[[World], httpx.Response]
V1 = ("success",)
INSTANCE_LIST_004 = (
    "id",
    "gpu_type",
    "status",
    "ip_address",
    "ssh_port",
    "created_at",
    "cost_per_hour",
    "region",
)
INSTANCE_DETAIL_004 = (
    *("id", "gpu_type", "gpu_name", "gpu_memory_gb", "status", "ip_address", "ssh_port", "ssh_command"),
    *("jupyter_url", "created_at", "uptime_seconds", "cost_per_hour", "cost_accumulated", "region"),
    *("host_reliability_score", "failover.enabled", "failover.strategy", "failover.last_failover"),
    *("serverless.enabled", "serverless.idle_timeout_minutes", "serverless.state"),
    *("metrics.gpu_utilization", "metrics.gpu_memory_used_gb", "metrics.gpu_temperature"),
)
MACHINE_002 = ("id", "name", "gpu_name", "status", "cost_per_hour", "region")
BROWSER_HEADERS = {"Accept": "text/html"}


@dataclass(frozen=True)
class Shape:
    """What a value the seed shows looks like: `says` for the failure message, `holds` to check one."""

    says: str
    holds: Callable[[Any], bool]


def _is_time(value: Any) -> bool:
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return isinstance(value, str)


def _matches(pattern: str) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and re.fullmatch(pattern, value) is not None


PRESENT = Shape("not null", lambda value: value is not None)
NUMBER = Shape("a number", lambda value: isinstance(value, int | float) and not isinstance(value, bool))
TIME = Shape("an ISO 8601 time", _is_time)
SIZE = Shape('a size in decimal units such as "45GB" or "5.4MB"', _matches(r"\d+(\.\d+)?(B|KB|MB|GB|TB)"))
SPEED = Shape('a speed in decimal units such as "1.2GB/s"', _matches(r"\d+(\.\d+)?(B|KB|MB|GB|TB)/s"))
SHOWN_REGION = Shape(
    'a region spelt as the seeds do, such as "US-East"', _matches(r"[A-Z]{2,4}(-[A-Z][a-z]+)+")
)


def equal(expected: Any) -> Shape:
    return Shape(repr(expected), lambda value: value == expected)


def one_of(*allowed: Any) -> Shape:
    return Shape(f"one of {', '.join(map(repr, allowed))}", lambda value: value in allowed)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    seeds: str
    call: Call
    fields: tuple[str, ...] = ()
    status: int | None = None
    """The status the seed documents; any 2xx when it documents none."""
    expected_failure: str | None = None
    values: tuple[tuple[str, Shape], ...] = ()
    """Fields whose value the seed shows, and what it must look like (paths as in `fields`)."""


def v1(*fields: str, under: str = "data") -> tuple[str, ...]:
    return (*V1, *(f"{under}.{name}" for name in fields))


def items(prefix: str, *fields: str) -> tuple[str, ...]:
    return tuple(f"{prefix}[].{name}" for name in fields)


def get(path: str, **params: Any) -> Call:
    return lambda world: world.api.get(path.format(world=world), params=params or None)


def post(path: str, body: dict[str, Any] | None = None, **params: Any) -> Call:
    return lambda world: world.api.post(path.format(world=world), json=body, params=params or None)


def metrics_reported(world: World) -> httpx.Response:
    url = f"/api/v1/instances/{world.instance}/metrics"
    query = {"period": "24h", "metrics": "gpu_util,gpu_mem,cpu,ram"}
    return world.until(lambda: world.api.get(url, params=query), lambda body: bool(body["data"]))


def ssh_key_removed(world: World) -> httpx.Response:
    added = world.api.post(f"/api/v1/instances/{world.instance}/ssh-keys", json={"public_key": KEY_TO_REMOVE})
    assert added.status_code == 201, added.text
    return world.api.delete(f"/api/v1/instances/{world.instance}/ssh-keys/{added.json()['data']['id']}")


def agent_status(world: World) -> httpx.Response:
    body = {"instance_id": world.instance, "gpu_utilization": 87, "vram_used_gb": 18.4}
    with world.agent(world.instance) as agent:
        return agent.post("/api/agent/status", json={**body, "cost_accumulated": 2.40, "status": "running"})


def anonymous(method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> Call:
    def call(world: World) -> httpx.Response:
        with world.anonymous() as client:
            return client.request(method, path, json=body, params=params or None, headers=BROWSER_HEADERS)

    return call


def websocket(world: World) -> httpx.Response:
    handshake = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
    handshake["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
    return world.api.get(f"/ws/instance/{world.instance}/metrics", headers=handshake)


def stopped(world: World) -> str:
    return world.in_state(
        world.power, "stopped", lambda: world.api.post(f"/api/v1/instances/{world.power}/stop")
    )


def hibernated(world: World) -> str:
    def hibernate() -> httpx.Response:
        return world.api.post(f"/api/instances/{world.sleeper}/hibernate")

    return world.in_state(world.sleeper, "hibernated", hibernate)


SSH_KEY_004 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINJWEdKA9HfgJMCyWR4z3jflKb0U6doDtA7jiZWhhnZe my-laptop"
KEY_TO_REMOVE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWNXuP6uPYQadPK5qqvzn5+3LzQRqpDMwyPnua0R2Tn bob@box"
CREATE_004 = {
    "gpu_type": "RTX_4090",
    "region": "us-west",
    "image": "pytorch/pytorch:2.0-cuda12.1",
    "disk_gb": 100,
    "failover_enabled": True,
    "failover_strategy": "warmpool",
    "ssh_key": SSH_KEY,
}
CREATE_002 = {"gpu_type": "RTX 4090", "region": "US-East", "auto_hibernate": True}
WEBHOOK_000 = {"url": "https://your-app.com/webhook", "events": ["instance.created", "failover.completed"]}
WEBHOOK_003 = {
    "url": "https://your-app.com/webhooks/dumont",
    "events": ["instance.created", "failover.triggered"],
    "secret": "your_webhook_secret",
}
ADVICE_002 = {"task": "fine-tune llama2-7b", "dataset_size": "50GB", "budget_per_hour": 1.00}


def legacy_snapshot_completed(world: World) -> str:
    assert wait_for_snapshot(world.api, world.legacy_snapshot)["status"] == "completed"
    return world.legacy_snapshot


def failover_ready(world: World) -> str:
    """The instance running with failover on and a completed snapshot, as a drill needs."""
    world.snapshot  # noqa: B018 - taken now, if not yet
    instance_id = world.running(world.instance)
    configured = {"instance_id": instance_id, "enabled": True, "strategy": "snapshot"}
    assert world.api.post("/api/v1/failover/configure", json=configured).status_code == 200
    return instance_id


def create_v1(world: World) -> httpx.Response:
    """Seed 001's spelling, then seed 004's body; the second answer is checked."""
    spelled_001 = {"gpu": "RTX 4090", "image": "pytorch:2.0-cuda12", "disk_size": 100}
    first = world.instance_made(world.api.post("/api/v1/instances", json=spelled_001), "data", "id")
    assert first.status_code == 201, first.text
    return world.instance_made(world.api.post("/api/v1/instances", json=CREATE_004), "data", "id")


def create_legacy(world: World) -> httpx.Response:
    return world.instance_made(world.api.post("/api/instances", json=CREATE_002), "id")


def login(path: str) -> Call:
    return lambda world: world.api.post(path, json={"email": world.member_email, "password": PASSWORD})


def missing(body: Any, path: str) -> list[str]:
    """The parts of `path` the answer lacks (`a.b` nested, `a[].b` in each item of a non-empty list)."""
    head, _, rest = path.partition(".")
    if head.endswith("[]"):
        values = body.get(head[:-2]) if isinstance(body, dict) else None
        if not isinstance(values, list) or not values:
            return [f"{head[:-2]} (a non-empty list)"]
        return sorted({gap for value in values for gap in missing(value, rest)}) if rest else []
    if not isinstance(body, dict) or head not in body:
        return [path]
    return missing(body[head], rest) if rest else []


def found_at(body: Any, path: str) -> list[Any]:
    """The values at `path` (`a.b` nested, `a[].b` in each item of a list); none where it is absent."""
    head, _, rest = path.partition(".")
    if not isinstance(body, dict):
        return []
    if head.endswith("[]"):
        listed = body.get(head[:-2])
        items = listed if isinstance(listed, list) else []
        return [found for item in items for found in found_at(item, rest)] if rest else items
    if head not in body:
        return []
    return found_at(body[head], rest) if rest else [body[head]]


def wrong_values(body: Any, checks: tuple[tuple[str, Shape], ...]) -> list[str]:
    """Each value at a checked path that is not what the seed shows, saying what it should be."""
    return [
        f"{path} is {value!r}, not {shape.says}"
        for path, shape in checks
        for value in found_at(body, path)
        if not shape.holds(value)
    ]


def answer_of(resource: str) -> Call:
    """What the create behind one of `World`'s resources answered."""

    def call(world: World) -> httpx.Response:
        getattr(world, resource)
        return world.answers[resource]

    return call


def list_v1(world: World) -> httpx.Response:
    query = {"status": world.status(world.instance), "gpu_type": "RTX_4090", "page": 1, "per_page": 20}
    return world.api.get("/api/v1/instances", params=query)


def power(action: str) -> Call:
    def call(world: World) -> httpx.Response:
        instance_id = stopped(world) if action == "start" else world.running(world.power)
        return world.api.post(f"/api/v1/instances/{instance_id}/{action}")

    return call


def legacy_snapshot_read(world: World) -> httpx.Response:
    return world.api.get(f"/api/snapshots/{legacy_snapshot_completed(world)}")


def legacy_snapshot_deleted(world: World) -> httpx.Response:
    return world.api.delete(f"/api/v1/snapshots/{legacy_snapshot_completed(world)}")


def serverless(action: str) -> Call:
    def call(world: World) -> httpx.Response:
        if action == "pause":
            return world.api.post(f"/api/v1/serverless/pause/{world.running(world.sleeper)}")
        if action == "resume":
            return world.api.post(f"/api/v1/serverless/resume/{hibernated(world)}")
        extra = {"idle_timeout_minutes": 60} if action == "enable" else {}
        return world.api.post(f"/api/v1/serverless/{action}", json={"instance_id": world.instance, **extra})

    return call


def hibernate_legacy(world: World) -> httpx.Response:
    return world.api.post(f"/api/instances/{world.running(world.sleeper)}/hibernate")


def wake_legacy(world: World) -> httpx.Response:
    return world.api.post(f"/api/instances/{hibernated(world)}/wake")


def until_listed(path: str, key: str, **params: Any) -> Call:
    """`path` once it lists something under `key` (a hibernation, settled costs)."""
    return lambda world: world.until(
        lambda: world.api.get(path, params=params or None), lambda body: bool(body[key])
    )


def failover_configured(world: World) -> httpx.Response:
    configured = {"instance_id": world.instance, "enabled": True, "strategy": "snapshot"}
    return world.api.post("/api/v1/failover/configure", json=configured)


def restored(world: World) -> httpx.Response:
    """Seed 000 lists the route with no body: onto the instance the snapshot was taken of."""
    snapshot_id = world.snapshot
    world.running(world.instance)
    return world.api.post(f"/api/v1/snapshots/{snapshot_id}/restore")


def drilled(world: World) -> httpx.Response:
    return world.api.post(f"/api/v1/failover/trigger/{failover_ready(world)}")


def member_added(world: World) -> httpx.Response:
    member = {"email": world.member_email, "role": "developer"}
    return world.api.post(f"/api/v1/teams/{world.team}/members", json=member)


def role_created(world: World) -> httpx.Response:
    role = {"name": f"auditor-{world.team[-6:]}", "permissions": ["instances.view"]}
    return world.api.post("/api/v1/roles", json=role)


def webhook(path: str, body: dict[str, Any]) -> Call:
    return lambda world: world.webhook_made(world.api.post(path, json=body))


def deleted(path: str, resource: str) -> Call:
    return lambda world: world.api.delete(path.format(world.running(getattr(world, resource))))
