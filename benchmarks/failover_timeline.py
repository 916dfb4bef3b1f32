"""A controllable clock and what runs on it: scheduled calls and processes (generators that wait), so a
failover that takes minutes of the system's time runs in a fraction of a second of ours.

A process yields a number of seconds to wait, or a `Pending` to wait for (an agent's action, another
process); what it returns resolves the process, itself a `Pending`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 12, 2, tzinfo=UTC)

Process = Generator["float | Pending", Any, Any]


class SimulatedTime:
    """The clock every service, the marketplace and the agents read: it moves only when the timeline
    (or a provider backing off inside a call) moves it."""

    def __init__(self) -> None:
        self.elapsed = 0.0

    def __call__(self) -> datetime:
        return START + timedelta(seconds=self.elapsed)

    def seconds(self) -> float:
        """Seconds since the start: the marketplace's monotonic clock."""
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        """Time passes while a caller waits (a provider client backing off between attempts)."""
        self.elapsed += max(0.0, seconds)


class Pending:
    """Something that ends later: resolved once, with a value (or an error), and whoever waits resumes."""

    def __init__(self) -> None:
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None
        self._waiters: list[Callable[[Any], None]] = []

    def resolve(self, value: Any = None, error: BaseException | None = None) -> None:
        if self.done:
            return
        self.done, self.value, self.error = True, value, error
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter(value)

    def then(self, waiter: Callable[[Any], None]) -> None:
        if self.done:
            waiter(self.value)
        else:
            self._waiters.append(waiter)


class Timeline:
    """Calls and processes ordered by the simulated time they are due at."""

    def __init__(self, time: SimulatedTime) -> None:
        self.time = time
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self.errors: list[str] = []
        """What failed in a process or a scheduled call, which the report shows."""

    def at(self, delay: float, call: Callable[[], None]) -> None:
        heapq.heappush(self._due, (self.time.elapsed + max(0.0, delay), next(self._order), call))

    def every(self, seconds: float, call: Callable[[], bool | None], *, first_in: float = 0.0) -> None:
        """Call `call` every `seconds`, until it answers False."""

        def run() -> None:
            if self._guarded(call) is not False:
                self.at(seconds, run)

        self.at(first_in, run)

    def repeat(self, call: Callable[[], float | None]) -> None:
        """Call `call` now and again as many seconds later as it answers, until it answers None."""

        def run() -> None:
            wait = self._guarded(call)
            if wait is not None:
                self.at(float(wait), run)

        self.at(0.0, run)

    def spawn(self, process: Process, delay: float = 0.0) -> Pending:
        finished = Pending()
        self.at(delay, lambda: self._step(process, finished, None))
        return finished

    def run_for(self, seconds: float) -> None:
        self.run_until(lambda: False, seconds)

    def run_until(self, done: Callable[[], bool], limit_seconds: float) -> bool:
        """Run what is due, in order, until `done()` or `limit_seconds` of simulated time; whether done."""
        end = self.time.elapsed + limit_seconds
        while not done():
            if not self._due or self._due[0][0] > end:
                self.time.elapsed = max(self.time.elapsed, end)
                return done()
            at, _, call = heapq.heappop(self._due)
            self.time.elapsed = max(self.time.elapsed, at)
            call()
        return True

    def _step(self, process: Process, finished: Pending, value: Any) -> None:
        try:
            waited = process.send(value)
        except StopIteration as stop:
            finished.resolve(stop.value)
            return
        except Exception as error:
            self.errors.append(f"{type(error).__name__}: {error}")
            finished.resolve(None, error)
            return
        if isinstance(waited, Pending):
            waited.then(lambda result: self.at(0.0, lambda: self._step(process, finished, result)))
        else:
            self.at(float(waited), lambda: self._step(process, finished, None))

    def _guarded(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as error:
            self.errors.append(f"{type(error).__name__}: {error}")
            return None
