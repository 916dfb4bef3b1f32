"""A clock that only moves when the test says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> datetime:
        self.now += timedelta(seconds=seconds, minutes=minutes, hours=hours)
        return self.now
