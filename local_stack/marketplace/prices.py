"""How the simulated market prices its offers: a daily demand cycle per region, a slow trend per GPU
type, shocks that fade over hours, and a little noise per offer, or, for tests that need a market
nothing can forecast, a pure random walk per GPU type.

A price is a function of the offer and the market's time alone (`price_of`), the same for the same
seed, so a week of history can be priced in a moment (`pinned_at`) and a fast clock (`speed`) makes a
day pass in seconds. The market's time is wall-clock time: the demand cycle peaks in each region's
afternoon.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum

DAY_SECONDS = 86_400.0
_SHOCK_SLOT_SECONDS = 8 * 3600.0
_SHOCK_SLOTS_REMEMBERED = 4
_SHOCK_CHANCE = 0.3
_NOISE_KNOT_SECONDS = 1800.0
_NOISE_SIGMA = 0.015
_TREND_PERIOD_SECONDS = 40 * DAY_SECONDS
_WALK_STEP_SECONDS = 900.0
_WALK_SIGMA = 0.02
_WALK_HISTORY_SECONDS = 30 * DAY_SECONDS
_PEAK_LOCAL_HOUR = 15.0

_UTC_OFFSET_HOURS = {
    "US": -6.0,
    "CA": -5.0,
    "DE": 1.0,
    "NL": 1.0,
    "SE": 1.0,
    "FI": 2.0,
    "JP": 9.0,
}
"""Where a host's afternoon falls: its country's offset from UTC (the US taken at its middle)."""


class PriceDynamics(StrEnum):
    MARKET = "market"
    """A daily demand cycle, trends and shocks: a market a seasonal model can forecast."""
    RANDOM_WALK = "random_walk"
    """Each GPU type's prices wander at random: the last price is the best forecast there is."""


class PriceModel:
    """The price of every offer at any moment of the market's time."""

    def __init__(
        self,
        seed: int,
        *,
        clock: Callable[[], float],
        dynamics: PriceDynamics = PriceDynamics.MARKET,
        epoch: float | None = None,
        speed: float = 1.0,
    ) -> None:
        self.seed = seed
        self.dynamics = dynamics
        self.speed = speed
        self._clock = clock
        self._clock_origin = clock()
        self._epoch_origin = time.time() if epoch is None else epoch
        self._pinned = threading.local()
        self._walks: dict[str, list[float]] = {}
        self._walk_origin = self._epoch_origin - _WALK_HISTORY_SECONDS
        self._lock = threading.Lock()
        self._fixed_draws: dict[tuple[object, ...], tuple[float, ...]] = {}

    def now(self) -> float:
        """The market's time, in epoch seconds: wall time when the model was made, moved on by its clock
        at `speed`; or the moment this thread pinned it at."""
        pinned: float | None = getattr(self._pinned, "at", None)
        if pinned is not None:
            return pinned
        return self._epoch_origin + (self._clock() - self._clock_origin) * self.speed

    @contextmanager
    def pinned_at(self, epoch_seconds: float) -> Iterator[None]:
        """Price every offer as at `epoch_seconds` for a while, as seen from this thread (others go on
        seeing the present): how the past is priced to make history."""
        self._pinned.at = epoch_seconds
        try:
            yield
        finally:
            self._pinned.at = None

    def price_of(
        self, *, start_price: float, offer_id: int, gpu_name: str, geolocation: str, at: float
    ) -> float:
        """The on-demand price of an offer that opened at `start_price`, at `at` (epoch seconds)."""
        if self.dynamics is PriceDynamics.RANDOM_WALK:
            factor = math.exp(self._walk(gpu_name, at))
        else:
            factor = self._cycle(geolocation, at) * self._trend(gpu_name, at) * self._shocks(gpu_name, at)
        return round(start_price * factor * self._noise(offer_id, at), 4)

    def _cycle(self, geolocation: str, at: float) -> float:
        country = geolocation.rsplit(",", 1)[-1].strip()
        local_hour = (at / 3600.0 + _UTC_OFFSET_HOURS.get(country, 0.0)) % 24
        amplitude = 0.08 + 0.08 * self._fixed("amplitude", country)[0]
        return 1.0 + amplitude * math.cos(2 * math.pi * (local_hour - _PEAK_LOCAL_HOUR) / 24)

    def _trend(self, gpu_name: str, at: float) -> float:
        size_draw, phase_draw, *_ = self._fixed("trend", gpu_name)
        size, phase = 0.03 + 0.09 * size_draw, 2 * math.pi * phase_draw
        return math.exp(size * math.sin(2 * math.pi * at / _TREND_PERIOD_SECONDS + phase))

    def _shocks(self, gpu_name: str, at: float) -> float:
        """Sudden moves (a large renter arriving, a batch of hosts leaving) that fade over a few hours."""
        slot = math.floor(at / _SHOCK_SLOT_SECONDS)
        total = 0.0
        for past in range(slot - _SHOCK_SLOTS_REMEMBERED + 1, slot + 1):
            chance, when, how_much, how_long = self._fixed("shock", gpu_name, past)
            if chance >= _SHOCK_CHANCE:
                continue
            starts = (past + when) * _SHOCK_SLOT_SECONDS
            size = (how_much - 0.5) * 0.24  # up to 12% either way
            fades = (1 + 3 * how_long) * 3600
            if at >= starts:
                total += size * math.exp(-(at - starts) / fades)
        return math.exp(max(-0.2, min(0.2, total)))

    def _noise(self, offer_id: int, at: float) -> float:
        knot = at / _NOISE_KNOT_SECONDS
        before = math.floor(knot)
        share = knot - before
        low = self._draw("noise", offer_id, before).gauss(0, _NOISE_SIGMA)
        high = self._draw("noise", offer_id, before + 1).gauss(0, _NOISE_SIGMA)
        return math.exp(low + (high - low) * share)

    def _walk(self, gpu_name: str, at: float) -> float:
        """Where the GPU type's walk stands at `at`: the sum of its steps since the walk began."""
        step = max(0, math.floor((at - self._walk_origin) / _WALK_STEP_SECONDS))
        with self._lock:
            walk = self._walks.setdefault(gpu_name, [0.0])
            while len(walk) <= step:
                walk.append(walk[-1] + self._draw("walk", gpu_name, len(walk)).gauss(0, _WALK_SIGMA))
            return walk[step]

    def _draw(self, *what: object) -> random.Random:
        return random.Random(f"{self.seed}:" + ":".join(str(part) for part in what))

    def _fixed(self, *what: object) -> tuple[float, ...]:
        """Draws that never change for the same `what`, made once: a region's amplitude, a trend's size
        and phase, a slot's shock."""
        made = self._fixed_draws.get(what)
        if made is None:
            draw = self._draw(*what)
            made = self._fixed_draws[what] = (draw.random(), draw.random(), draw.random(), draw.random())
        return made
