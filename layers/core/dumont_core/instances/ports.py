"""What the instance service asks of others, each a port the composition root fills."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from dumont_core.instances.models import Instance


class IdleWatch(Protocol):
    """Whoever hibernates idle instances (serverless mode) and must hear of those created with it."""

    def watch(self, team_id: str, instance_id: str) -> None: ...


class Meter(Protocol):
    """Whoever charges teams for their instances (the billing domain), asked before a machine is rented
    for one. It settles what instances cost from `running()` and `unsettled()`."""

    def ensure_covers(self, team_id: str, hourly_price: float | None, action: str) -> None:
        """Refuse (InsufficientBalance) unless the team can pay an hour at `hourly_price`."""
        ...


class Quotes(Protocol):
    """What a new machine for an instance would cost an hour (`instances.quotes`); None: not known."""

    def hourly_price(self, instance: Instance) -> float | None: ...


class UptimeTally(Protocol):
    """Whoever keeps each provider's run and down time (`instances.uptime`), told of every transition."""

    def record(self, instance: Instance, changes: Mapping[str, Any]) -> None: ...
