"""Webhook delivery under load on the local stack: events put on the bus to many subscribers, one of them
down for the first part of the run. Every receiver must get every event, each delivery id once, and the one
that was down must catch up once it is back; the delivery latency is reported."""

from __future__ import annotations

import json
import statistics
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local_stack.serving import ServerThreads
from local_stack.stack import FAST_STACK, LocalStack

EVENTS = 1000
SUBSCRIBERS = 10
CATCH_UP_SECONDS = 600.0
EVENT = "instance.ready"


@dataclass
class BenchReceiver:
    """Answers 200 to every POST and notes when each delivery arrived, and for which event."""

    port: int = 0
    arrivals: list[tuple[str, int, float, float]] = field(default_factory=list)
    """(delivery id, event number, sent at, arrived at), in order of arrival."""
    _threads: ServerThreads | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> BenchReceiver:
        server = make_server("127.0.0.1", self.port, self._app, threaded=True)
        self.port = server.server_address[1]
        self._threads = ServerThreads(server, f"bench-receiver-{self.port}", poll_interval=0.1)
        self._threads.start()
        return self

    def stop(self) -> None:
        if self._threads is not None:
            self._threads.stop(5)
            self._threads = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> set[str]:
        with self._lock:
            return {arrival[0] for arrival in self.arrivals}

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        data = json.loads(request.get_data())["data"]
        arrival = (request.headers["X-Dumont-Delivery"], data["number"], data["sent_at"], time.time())
        with self._lock:
            self.arrivals.append(arrival)
        return Response("OK")(environ, start_response)


@dataclass(frozen=True)
class WebhookLoad:
    events: int
    subscribers: int
    delivered: list[int]
    """Distinct delivery ids each receiver got; the first one was down at first."""
    events_received: list[int]
    duplicates: int
    """Arrivals of a delivery id already received (delivery is at least once)."""
    latencies: list[float]
    """Seconds from the event's put on the bus to its first arrival, at the receivers that were up."""
    down_seconds: float
    catch_up_seconds: float | None
    """From the down receiver's return until it had every event; None if it never had."""

    @property
    def complete(self) -> bool:
        return all(count == self.events for count in [*self.delivered, *self.events_received])

    @property
    def within_target(self) -> bool:
        """Every event reached every subscriber, once per delivery id, the down one included."""
        return self.complete and self.duplicates == 0 and self.catch_up_seconds is not None

    def missed(self) -> str:
        """Why the run is not within target, for the report."""
        reasons = []
        if not self.complete:
            reasons.append("not every event reached every subscriber")
        if self.duplicates:
            reasons.append(f"{self.duplicates} delivery ids arrived more than once")
        if self.catch_up_seconds is None:
            reasons.append("the down subscriber never caught up")
        return "; ".join(reasons)


def tally(
    events: int,
    arrivals: list[list[tuple[str, int, float, float]]],
    down_seconds: float,
    catch_up_seconds: float | None,
) -> WebhookLoad:
    """The run's outcome from each receiver's arrivals (`BenchReceiver.arrivals`), the first receiver
    being the one that was down: its latencies, which include the time it was down, are left out."""
    first_arrivals: dict[tuple[int, str], float] = {}
    duplicates = 0
    for index, received in enumerate(arrivals):
        for delivery_id, _, sent_at, arrived_at in received:
            if (index, delivery_id) in first_arrivals:
                duplicates += 1
            else:
                first_arrivals[(index, delivery_id)] = arrived_at - sent_at
    return WebhookLoad(
        events=events,
        subscribers=len(arrivals),
        delivered=[len({arrival[0] for arrival in received}) for received in arrivals],
        events_received=[len({arrival[1] for arrival in received}) for received in arrivals],
        duplicates=duplicates,
        latencies=[latency for (index, _), latency in first_arrivals.items() if index != 0],
        down_seconds=down_seconds,
        catch_up_seconds=catch_up_seconds,
    )


def _put_events(stack: LocalStack, team_id: str, count: int) -> None:
    events = stack.aws.client("events")
    for start in range(0, count, 10):
        entries: list[Any] = [
            {
                "Source": "dumont.instances",
                "DetailType": EVENT,
                "Detail": json.dumps(
                    {
                        "event": EVENT,
                        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                        "account_id": "acct_bench",
                        "team_id": team_id,
                        "data": {
                            "instance_id": f"inst_{number:016x}",
                            "number": number,
                            "sent_at": time.time(),
                        },
                    }
                ),
                "EventBusName": "dumont",
            }
            for number in range(start, min(count, start + 10))
        ]
        events.put_events(Entries=entries)


def _wait(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


BENCH_STACK = replace(
    FAST_STACK, log_level="ERROR", webhook_retry_base_seconds=5.0, webhook_retry_max_seconds=30.0
)
"""Retries as far apart as a receiver down for a minute or two needs: the local stack sends with one
function instance, where Lambda would run many, and a down receiver's retries must not crowd out the
deliveries to the others."""


def measure(events: int = EVENTS, subscribers: int = SUBSCRIBERS) -> WebhookLoad:
    stack = LocalStack(BENCH_STACK).start()
    receivers = [BenchReceiver().start() for _ in range(subscribers)]
    down = receivers[0]
    down.stop()
    try:
        with httpx.Client(base_url=stack.url, headers={"X-API-Key": stack.api_key}, timeout=30) as api:
            teams = api.get("/api/v1/teams").json()["data"]
            team_id = next(team["id"] for team in teams if team["current"])
            for receiver in receivers:
                answer = api.post("/api/v1/webhooks", json={"url": receiver.url, "events": [EVENT]})
                answer.raise_for_status()
        started = time.monotonic()
        _put_events(stack, team_id, events)
        _wait(lambda: all(len(r.delivered()) >= events for r in receivers[1:]), CATCH_UP_SECONDS)
        down_seconds = time.monotonic() - started
        back = time.monotonic()
        down.start()
        caught_up = _wait(lambda: len(down.delivered()) >= events, CATCH_UP_SECONDS)
        catch_up = time.monotonic() - back if caught_up else None
    finally:
        for receiver in receivers:
            receiver.stop()
        stack.stop()
    return tally(events, [receiver.arrivals for receiver in receivers], down_seconds, catch_up)


def render(load: WebhookLoad) -> tuple[str, bool]:
    quantiles = statistics.quantiles(load.latencies, n=100) if len(load.latencies) > 1 else [0.0] * 99
    catch_up = "never" if load.catch_up_seconds is None else f"{load.catch_up_seconds:.1f} s"
    lines = [
        f"Webhooks: {load.events} events to {load.subscribers} subscribers on the local stack, the first "
        f"subscriber down for the first {load.down_seconds:.1f} s",
        f"  delivery ids received per subscriber: {load.delivered} (target: {load.events} each)",
        f"  events received per subscriber:       {load.events_received}",
        f"  repeated arrivals of a delivery id:   {load.duplicates} (target: none)",
        f"  latency from the bus to the receiver: p50 {quantiles[49]:.2f} s, p95 {quantiles[94]:.2f} s",
        f"  the down subscriber caught up in:     {catch_up} after it came back",
        f"  {'within target' if load.within_target else f'MISSED: {load.missed()}'}",
    ]
    return "\n".join(lines), load.within_target
