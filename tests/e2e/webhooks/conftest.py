"""Receivers of webhooks for the e2e tests: seed 003's Flask receiver, run as the seed writes it, on a
real HTTP server each test starts and stops."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flask
import httpx
import pytest
from werkzeug.serving import make_server

from local_stack.serving import ServerThreads
from local_stack.stack import LocalStack

SEED_003_RECEIVER = (Path(__file__).parent / "seed_003_receiver.txt").read_text()
"""The receiver of seed 003 ("Validar Signature"), character for character."""


@dataclass(frozen=True)
class Received:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Seed 003's receiver with `secret` as its WEBHOOK_SECRET; keeps every request and its answer."""

    secret: str
    port: int = 0
    received: list[Received] = field(default_factory=list)
    notified: list[dict[str, Any]] = field(default_factory=list)
    _threads: ServerThreads | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        app = flask.Flask("seed_003_receiver")
        namespace = {
            "app": app,
            "request": flask.request,
            "WEBHOOK_SECRET": self.secret,
            "notify_ops_team": self.notified.append,
        }
        exec(compile(SEED_003_RECEIVER, "seed_003_receiver", "exec"), namespace)
        app.after_request(self._record)
        server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.port = server.server_address[1]
        self._threads = ServerThreads(server, f"receiver-{self.port}", poll_interval=0.1)
        self._threads.start()
        return self

    def stop(self) -> None:
        if self._threads is not None:
            self._threads.stop(5)
            self._threads = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/dumont"

    def accepted(self) -> list[Received]:
        with self._lock:
            return [request for request in self.received if request.status == 200]

    def _record(self, response: flask.Response) -> flask.Response:
        request = flask.request
        with self._lock:
            self.received.append(Received(response.status_code, dict(request.headers), request.data.decode()))
        return response


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver(secret="your_webhook_secret").start()
    yield started
    started.stop()


def team_of(api: httpx.Client) -> str:
    teams = api.get("/api/v1/teams").json()["data"]
    return str(next(team["id"] for team in teams if team["current"]))


def put_on_bus(stack: LocalStack, team_id: str, event: str, data: dict[str, Any], count: int = 1) -> None:
    """Put domain events on the bus as a domain would, ten to a call."""
    entries = [
        {
            "Source": f"dumont.{event.split('.')[0]}",
            "DetailType": event,
            "Detail": json.dumps(
                {
                    "event": event,
                    "timestamp": f"2025-03-01T12:00:{number % 60:02d}.{number:06d}Z",
                    "account_id": "acct_bench",
                    "team_id": team_id,
                    "data": {**data, "number": number},
                }
            ),
            "EventBusName": "dumont",
        }
        for number in range(count)
    ]
    events = stack.aws.client("events")
    for start in range(0, len(entries), 10):
        assert events.put_events(Entries=entries[start : start + 10])["FailedEntryCount"] == 0
