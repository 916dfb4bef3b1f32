"""Domain events kept in memory instead of put on the bus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dumont_core.platform.events import DomainEvent


class InMemoryPublisher:
    def __init__(self) -> None:
        self.published: list[Any] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.published.extend(events)
