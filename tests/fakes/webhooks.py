"""A delivery queue and a receiver in memory, and a resolver that answers what a test says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dumont_core.webhooks.addresses import Target
from dumont_core.webhooks.models import Attempt, DeliveryRef
from tests.fakes.clock import Clock


class MemoryQueue:
    def __init__(self) -> None:
        self.refs: list[DeliveryRef] = []

    def enqueue(self, refs: Sequence[DeliveryRef]) -> None:
        self.refs.extend(refs)


@dataclass
class FakeReceiver:
    """Answers every POST with `status` (None: the connection is refused), and keeps what it got."""

    clock: Clock
    status: int | None = 200
    received: list[tuple[Target, bytes, dict[str, str]]] = field(default_factory=list)

    def post(self, target: Target, body: bytes, headers: dict[str, str]) -> Attempt:
        self.received.append((target, body, headers))
        if self.status is None:
            return Attempt(at=self.clock(), response_code=None, latency_ms=1.0, error="ConnectError: refused")
        return Attempt(at=self.clock(), response_code=self.status, latency_ms=12.5)


def resolving(**addresses: str) -> object:
    """A resolver that knows the given host names (underscores for dots); others do not resolve."""

    def resolve(host: str, port: int) -> list[str]:
        found = addresses.get(host.replace(".", "_"))
        if found is None:
            raise OSError(f"unknown host {host}")
        return [found]

    return resolve
