"""A meter and a price list for the instance service's balance checks: each notes what it was asked."""

from __future__ import annotations

from dumont_core.instances.models import Instance
from dumont_core.platform.errors import InsufficientBalance


class CountingMeter:
    """Notes what it is asked to cover, and refuses once told to (a balance too low)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, float | None, str]] = []
        self.refuses = False

    def ensure_covers(self, team_id: str, hourly_price: float | None, action: str) -> None:
        self.asked.append((team_id, hourly_price, action))
        if self.refuses:
            raise InsufficientBalance(action, balance=0.0, needed=hourly_price or 0.01)


class FixedQuotes:
    """The price of the machine provisioning would rent first, and the instances it was asked about."""

    def __init__(self, price: float | None) -> None:
        self.price = price
        self.asked: list[Instance] = []

    def hourly_price(self, instance: Instance) -> float | None:
        self.asked.append(instance)
        return self.price
