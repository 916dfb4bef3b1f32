"""Faults injected at random, a given fraction of the time, the same way every run for one seed: the
marketplace's API answering 5xx, the machines' network losing heartbeats."""

from __future__ import annotations

import random
import threading

PROVIDER_ERROR_STATUSES = (500, 502, 503)
"""What the marketplace answers when a random fault strikes, as Vast.ai's front does when it is unwell."""


class RandomFault:
    """Strikes a `fraction` of the times it is asked, drawn from a generator seeded with `seed`."""

    def __init__(self, fraction: float = 0.0, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._fraction = 0.0
        self._rng = random.Random(seed)
        self.set(fraction, seed)

    @property
    def fraction(self) -> float:
        return self._fraction

    def set(self, fraction: float, seed: int | None = None) -> None:
        """Strike `fraction` of the time from now on; a `seed` starts the draws afresh."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("a fault rate is a fraction from 0 to 1")
        with self._lock:
            self._fraction = fraction
            if seed is not None:
                self._rng = random.Random(seed)

    def strikes(self) -> bool:
        with self._lock:
            return self._fraction > 0 and self._rng.random() < self._fraction

    def choice(self, options: tuple[int, ...]) -> int:
        with self._lock:
            return self._rng.choice(options)
