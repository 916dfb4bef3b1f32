"""Live metrics under load on the local stack: many WebSocket clients watch one instance, and each must
receive every heartbeat its agent sends while they watch; the push latency is reported."""

from __future__ import annotations

import json
import statistics
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from dumont_core.platform import table
from local_stack.embedded_aws import TABLE_NAME
from local_stack.stack import FAST_STACK, LocalStack

CLIENTS = 50
WATCH_SECONDS = 30.0
"""How long the clients watch: about this many heartbeats, one a second."""
GRACE_SECONDS = 3.0
"""How long a heartbeat sent just before the watch ends is given to arrive."""
READY_SECONDS = 120.0

BENCH_STACK = replace(FAST_STACK, log_level="ERROR")


@dataclass
class Watcher:
    """One WebSocket client: what it received, and when."""

    socket: ClientConnection
    received: list[tuple[str, float]] = field(default_factory=list)
    """(the payload's timestamp, when it arrived), in order of arrival."""
    thread: threading.Thread | None = None

    def watch(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                message = self.socket.recv(timeout=0.5)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            self.received.append((json.loads(message)["timestamp"], time.time()))


@dataclass(frozen=True)
class LiveLoad:
    clients: int
    heartbeats: int
    """Heartbeats the instance's agent sent while every client watched."""
    received: list[int]
    """How many of those heartbeats each client received."""
    latencies: list[float]
    """Seconds from a heartbeat being recorded to its arrival at a client."""
    watched_seconds: float

    @property
    def within_target(self) -> bool:
        return self.heartbeats > 0 and all(count == self.heartbeats for count in self.received)


def _wait(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _running_instance(api: httpx.Client) -> str:
    created = api.post("/api/v1/instances", json={"gpu_type": "RTX_4090"})
    created.raise_for_status()
    instance_id = str(created.json()["data"]["id"])

    def reporting() -> bool:
        agents = api.get("/api/agent/instances").json()["instances"]
        return any(agent["instance_id"] == instance_id and agent["health"] == "healthy" for agent in agents)

    if not _wait(reporting, READY_SECONDS):
        raise RuntimeError(f"the agent of {instance_id} never reported")
    return instance_id


def _watchers(stack: LocalStack, instance_id: str) -> set[str]:
    """The connections the instance's heartbeats are pushed to, as its item in the table holds them."""
    items = stack.aws.client("dynamodb").query(
        TableName=TABLE_NAME,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :pk",
        ExpressionAttributeValues={":pk": {"S": table.instance_key(instance_id)}},
    )["Items"]
    return {str(each) for item in items for each in item.get("watchers", {}).get("SS", [])}


def _query(stack: LocalStack, partition: str, between: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    condition, values = "PK = :pk", {":pk": {"S": partition}}
    if between is not None:
        condition += " AND SK BETWEEN :first AND :last"
        values |= {":first": {"S": between[0]}, ":last": {"S": between[1]}}
    answer = stack.aws.client("dynamodb").query(
        TableName=TABLE_NAME, KeyConditionExpression=condition, ExpressionAttributeValues=values
    )
    items: list[dict[str, Any]] = answer["Items"]
    return items


def _heartbeats(stack: LocalStack, instance_id: str, since: datetime, until: datetime) -> list[datetime]:
    """When the instance's agent reported, from its samples in the table."""
    keys = (table.metric_sample_key(since), table.metric_sample_key(until))
    samples = _query(stack, table.instance_key(instance_id), keys)
    return sorted(datetime.fromisoformat(item["SK"]["S"].split("#", 1)[1]) for item in samples)


def _seconds(at: datetime) -> set[str]:
    """The payload timestamps a heartbeat recorded at `at` may carry (pushed a moment later, in seconds)."""
    return {(at + timedelta(seconds=lag)).strftime("%Y-%m-%dT%H:%M:%SZ") for lag in (0, 1)}


def _matched(heartbeats: list[datetime], watcher: Watcher, since: float) -> list[float]:
    """The latency of each heartbeat the watcher received, in order; a heartbeat it missed has none.

    Payload timestamps are whole seconds (seed 002), so heartbeats and messages are paired in order, each
    message once: a message stamped before a heartbeat's seconds is passed over, one stamped after them
    leaves that heartbeat unmatched."""
    latencies = []
    messages = [(stamp, arrived) for stamp, arrived in watcher.received if arrived >= since]
    position = 0
    for heartbeat in heartbeats:
        wanted = _seconds(heartbeat)
        while position < len(messages) and messages[position][0] < min(wanted):
            position += 1
        if position < len(messages) and messages[position][0] in wanted:
            latencies.append(messages[position][1] - heartbeat.timestamp())
            position += 1
    return latencies


def measure(clients: int = CLIENTS, watch_seconds: float = WATCH_SECONDS) -> LiveLoad:
    stack = LocalStack(BENCH_STACK).start()
    stop = threading.Event()
    watchers: list[Watcher] = []
    try:
        with httpx.Client(base_url=stack.url, headers={"X-API-Key": stack.api_key}, timeout=30) as api:
            instance_id = _running_instance(api)
        url = (
            stack.url.replace("http://", "ws://")
            + f"/ws/instance/{instance_id}/metrics?token={stack.api_key}"
        )
        for _ in range(clients):
            watcher = Watcher(connect(url, open_timeout=30))
            watcher.thread = threading.Thread(target=watcher.watch, args=(stop,), name="bench-live-client")
            watcher.thread.start()
            watchers.append(watcher)
        if not _wait(lambda: len(_watchers(stack, instance_id)) == clients, READY_SECONDS):
            raise RuntimeError("not every client's connection was kept")
        began, began_at = time.time(), datetime.now(UTC)
        time.sleep(watch_seconds)
        ended_at = datetime.now(UTC)
        time.sleep(GRACE_SECONDS)
        heartbeats = _heartbeats(stack, instance_id, began_at, ended_at)
    finally:
        stop.set()
        for watcher in watchers:
            watcher.socket.close()
            if watcher.thread is not None:
                watcher.thread.join(timeout=5)
        stack.stop()
    matched = [_matched(heartbeats, watcher, began) for watcher in watchers]
    return LiveLoad(
        clients=clients,
        heartbeats=len(heartbeats),
        received=[len(latencies) for latencies in matched],
        latencies=[latency for latencies in matched for latency in latencies],
        watched_seconds=(ended_at - began_at).total_seconds(),
    )


def render(load: LiveLoad) -> tuple[str, bool]:
    quantiles = statistics.quantiles(load.latencies, n=100) if len(load.latencies) > 1 else [0.0] * 99
    missed = sum(load.heartbeats - count for count in load.received)
    lines = [
        f"Live metrics: {load.clients} WebSocket clients on one instance for {load.watched_seconds:.0f} s, "
        "on the local stack",
        f"  heartbeats while they watched:        {load.heartbeats}",
        f"  heartbeats received per client:       min {min(load.received, default=0)}, "
        f"max {max(load.received, default=0)} (target: {load.heartbeats} each)",
        f"  heartbeats missed, all clients:       {missed}",
        f"  latency from heartbeat to client:     p50 {quantiles[49]:.3f} s, p95 {quantiles[94]:.3f} s",
        f"  {'within target' if load.within_target else 'MISSED: a client did not receive every heartbeat'}",
    ]
    return "\n".join(lines), load.within_target
