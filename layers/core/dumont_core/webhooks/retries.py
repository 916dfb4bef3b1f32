"""How long a failing delivery waits between attempts, and how many receives its queue must allow for
that. Apart from the sender so the infrastructure can size the queue without loading an HTTP client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    base_seconds: float
    max_seconds: float

    def after(self, failures: int) -> float:
        """The wait after the `failures`-th failure: the base, doubled for each failure before it."""
        return float(min(self.max_seconds, self.base_seconds * 2 ** max(0, failures - 1)))

    def attempts_within(self, period: timedelta, at_most: int) -> int:
        """How many attempts a delivery failing every time gets before `period` has passed since its
        first, counting the one that gives up; `at_most` once there would be more."""
        attempts, elapsed = 1, 0.0
        while elapsed < period.total_seconds() and attempts < at_most:
            elapsed += self.after(attempts)
            attempts += 1
        return attempts


SQS_MAX_RECEIVE_COUNT = 1000
"""The most receives a queue's redrive policy may allow a message."""


def receive_limit(backoff: Backoff, give_up_after: timedelta) -> int:
    """How many receives the deliveries queue allows a message: twice the attempts of a delivery that
    fails until it is given up, and ten more, for receives no sender sees (a throttled function); at most
    SQS's limit. When the waits are short (the local stack's few seconds) even that ends before the retry
    period: the sender then gives up at the last receive but one itself (`DeliverySender.receive_limit`)."""
    wanted = 2 * backoff.attempts_within(give_up_after, at_most=SQS_MAX_RECEIVE_COUNT) + 10
    return min(SQS_MAX_RECEIVE_COUNT, wanted)
