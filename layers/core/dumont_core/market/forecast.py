"""Price forecasts that say how good they are.

The model is light enough for a Lambda: a daily profile (each hour of the day's price against the mean
of the 24 hours before it, averaged over the last week) times a level (the last six hours' prices with
the profile taken out). It is judged by a rolling-origin backtest: from each hour of the last two days,
forecast the next 24 hours from what was known then, and compare with what came. The same is done for
the naive forecast (the last price stays), so a user sees whether the model is worth more than it.

A prediction interval per horizon comes from the backtest's errors of the first half of its origins; its
confidence is the share of the second half's prices that fell inside it: measured, not assumed. That
interval is the one given with the forecast.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dumont_core.market.collector import percentile

HOUR = timedelta(hours=1)
HORIZONS = 24
"""Forecasts go 1 to 24 hours ahead."""
MIN_HISTORY_HOURS = 24
"""Less than a day of history forecasts nothing: `insufficient_history`."""
PROFILE_DAYS = 7
LEVEL_HOURS = 6
BACKTEST_HOURS = 48
MIN_ORIGINS = 6
"""A horizon's error is reported once this many origins could be judged at it."""
INTERVAL_SHARE = 0.8
"""Prediction intervals are meant to hold this share of prices."""

Series = Mapping[datetime, float]
"""Prices by hour (the start of the hour, UTC); hours with no price are missing."""


def fit_and_forecast(series: Series, origin: datetime) -> list[float] | None:
    """Forecasts for origin+1h … origin+24h from the prices up to `origin`; None without a day of them."""
    known = {
        hour: price for hour, price in series.items() if origin - HOUR * 24 * PROFILE_DAYS < hour <= origin
    }
    if len(known) < MIN_HISTORY_HOURS or origin not in known:
        return None
    profile = _daily_profile(known)
    recent = [
        known[hour] / profile[hour.hour]
        for step in range(LEVEL_HOURS)
        if (hour := origin - HOUR * step) in known
    ]
    level = statistics.fmean(recent)
    return [level * profile[(origin + HOUR * ahead).hour] for ahead in range(1, HORIZONS + 1)]


def _daily_profile(known: Series) -> list[float]:
    """Each hour of the day's price against the mean of the 24 hours before it, averaged, mean 1."""
    ratios: dict[int, list[float]] = {hour: [] for hour in range(24)}
    for hour, price in known.items():
        window = [known[past] for step in range(1, 25) if (past := hour - HOUR * step) in known]
        if len(window) >= 12:
            ratios[hour.hour].append(price / statistics.fmean(window))
    raw = [statistics.fmean(found) if found else 1.0 for found in ratios.values()]
    mean = statistics.fmean(raw)
    return [value / mean for value in raw]


@dataclass(frozen=True)
class HorizonScore:
    hours: int
    origins: int
    model_error: float | None
    """Mean absolute percentage error (0.05 is 5%) of the model at this horizon; None with too few
    origins."""
    naive_error: float | None
    interval: tuple[float, float] | None
    """The interval given with forecasts (as factors of the forecast): the quantiles of actual/forecast
    that held `INTERVAL_SHARE` of the first half of the origins, the earlier ones."""
    coverage: float | None
    """The share of the second half's prices that fell inside that same interval: measured on origins it
    was not made from."""


@dataclass(frozen=True)
class Backtest:
    horizons: list[HorizonScore]
    model_error: float | None
    naive_error: float | None

    @property
    def beats_naive(self) -> bool:
        return (
            self.model_error is not None
            and self.naive_error is not None
            and self.model_error < self.naive_error
        )

    def at(self, hours: int) -> HorizonScore:
        return self.horizons[hours - 1]


def backtest(series: Series, now: datetime) -> Backtest:
    """Rolling-origin backtest over the last two days: from each hour, forecast 1-24 hours ahead with what
    was known then, and score model and naive forecasts against the prices that came."""
    model: dict[int, list[float]] = {ahead: [] for ahead in range(1, HORIZONS + 1)}
    naive: dict[int, list[float]] = {ahead: [] for ahead in range(1, HORIZONS + 1)}
    ratios: dict[int, list[float]] = {ahead: [] for ahead in range(1, HORIZONS + 1)}
    for step in range(BACKTEST_HOURS, 0, -1):
        origin = now - HOUR * step
        forecast = fit_and_forecast(series, origin)
        if forecast is None:
            continue
        for ahead, predicted in enumerate(forecast, start=1):
            actual = series.get(origin + HOUR * ahead)
            if actual is None or origin + HOUR * ahead > now:
                continue
            model[ahead].append(abs(predicted - actual) / actual)
            naive[ahead].append(abs(series[origin] - actual) / actual)
            ratios[ahead].append(actual / predicted)
    horizons = [_score(ahead, model[ahead], naive[ahead], ratios[ahead]) for ahead in range(1, HORIZONS + 1)]
    pooled_model = [error for errors in model.values() for error in errors]
    pooled_naive = [error for errors in naive.values() for error in errors]
    enough = len(pooled_model) >= MIN_ORIGINS
    return Backtest(
        horizons=horizons,
        model_error=statistics.fmean(pooled_model) if enough else None,
        naive_error=statistics.fmean(pooled_naive) if enough else None,
    )


def _score(
    ahead: int, model: Sequence[float], naive: Sequence[float], ratios: Sequence[float]
) -> HorizonScore:
    if len(model) < MIN_ORIGINS:
        return HorizonScore(ahead, len(model), None, None, None, None)
    half = len(ratios) // 2
    fitted, judged = sorted(ratios[:half]), ratios[half:]
    tail = (1 - INTERVAL_SHARE) / 2
    interval = (percentile(fitted, tail), percentile(fitted, 1 - tail))
    inside = sum(interval[0] <= ratio <= interval[1] for ratio in judged)
    return HorizonScore(
        hours=ahead,
        origins=len(model),
        model_error=statistics.fmean(model),
        naive_error=statistics.fmean(naive),
        interval=interval,
        coverage=inside / len(judged) if judged else None,
    )


def accuracy(error: float | None) -> float | None:
    """A score in 0..1 from a mean absolute percentage error: 1 is a perfect forecast."""
    return None if error is None else round(max(0.0, 1.0 - error), 4)
