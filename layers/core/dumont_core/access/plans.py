"""The plans we sell and the request limits that come with them (seeds 000 and 001)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    requests_per_minute: int
    requests_per_day: int | None
    """None: no daily cap."""


PLANS: dict[str, Plan] = {
    plan.name: plan
    for plan in (
        Plan("free", requests_per_minute=60, requests_per_day=1_000),
        Plan("pro", requests_per_minute=300, requests_per_day=10_000),
        Plan("enterprise", requests_per_minute=1_000, requests_per_day=None),
    )
}
DEFAULT_PLAN = "free"
