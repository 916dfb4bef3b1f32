"""The market as users ask about it: prices now, their history, forecasts with their measured accuracy,
and the market at a glance."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from dumont_core.market import forecast as model
from dumont_core.market.collector import hour_of, mean_stats
from dumont_core.market.models import (
    ALL_REGIONS,
    Forecast,
    HistoryPoint,
    HorizonForecast,
    MarketSlice,
    MarketSummary,
    PricePoint,
    ProviderStanding,
)
from dumont_core.market.offers import MarketOffer, OfferBook
from dumont_core.market.repository import MarketRepository, day_of
from dumont_core.platform.clock import Clock
from dumont_core.platform.errors import ServiceUnavailable, ValidationFailed

PERIODS = {"1h": 1, "6h": 6, "24h": 24, "7d": 7 * 24, "30d": 30 * 24, "1y": 365 * 24}
"""Periods of history, in hours."""
INTERVALS = {"5m": 5, "15m": 15, "1h": 60, "6h": 360, "1d": 1440}
"""Intervals between history points, in minutes."""
RAW_PERIOD_HOURS = 24
"""Periods up to a day may be read from each collection's points; longer ones from hourly rollups."""
HOURLY_PERIOD_HOURS = 30 * 24
"""Periods up to a month may be read from hourly rollups (two Query pages); a year only by the day."""
DAY_MINUTES = 24 * 60
PREDICTED_HORIZONS = (1, 6, 24)
TRENDING = 3
PROVIDER_NAMES = {"vastai": "Vast.ai"}
UPTIME_DAYS = 30
UPTIME_MEASURED = (
    f"our own machines over the last {UPTIME_DAYS} days: their run time against the time from each "
    "machine's death until it was confirmed, and each failover until the instance ran again"
)
UPTIME_NO_HISTORY = (
    f"no history: none of our machines there ran or was interrupted in the last {UPTIME_DAYS} days "
    "(a machine's run time counts once it stops, hibernates, dies or is deleted)"
)
UPTIME_NOT_RECORDED = "not recorded in this deployment"
RELIABILITY_SOURCE = "the provider's own scores of its hosts"


class Uptime(Protocol):
    """A provider's machines as ours lived them (the instances domain's `UptimeService`)."""

    @property
    def percent(self) -> float | None: ...

    @property
    def interruptions(self) -> int: ...


class Uptimes(Protocol):
    def uptimes(self, days: int) -> Mapping[str, Uptime]:
        """Every provider with a history over the last `days` days, by name, in one read."""
        ...


MODEL_DAYS = model.PROFILE_DAYS + 1


@dataclass(frozen=True, kw_only=True)
class MarketService:
    repository: MarketRepository
    clock: Clock
    offers: OfferBook | None = None
    """Live offers, for the providers' own reliability scores."""
    uptimes: Uptimes | None = None
    """Our own machines' run and down time, per provider."""

    def prices(self, gpu_type: str | None, region: str | None) -> list[PricePoint]:
        """The latest prices of each GPU type (or of one), with the slices of one region or all."""
        latest = [point for point in self.repository.latest() if gpu_type in (None, point.gpu_type)]
        if region is None:
            return sorted(latest, key=lambda point: point.gpu_type)
        return [
            point.model_copy(update={"slices": [item for item in point.slices if item.region == region]})
            for point in sorted(latest, key=lambda point: point.gpu_type)
        ]

    def history(self, gpu_type: str, region: str | None, period: str, interval: str) -> list[HistoryPoint]:
        hours, minutes = PERIODS[period], INTERVALS[interval]
        if minutes < 60 and hours > RAW_PERIOD_HOURS:
            raise ValidationFailed(
                f"An interval of {interval} is kept for periods up to 24h; use 1h or more for {period}",
                details={"fields": [{"field": "interval", "message": "use 1h, 6h or 1d for this period"}]},
            )
        if minutes < DAY_MINUTES and hours > HOURLY_PERIOD_HOURS:
            raise ValidationFailed(
                f"A period of {period} is kept by the day; use 1d",
                details={"fields": [{"field": "interval", "message": "use 1d for this period"}]},
            )
        now = self.clock()
        since = now - timedelta(hours=hours)
        if minutes < 60:
            points = self.repository.points(gpu_type, since, now)
        elif minutes == DAY_MINUTES and hours >= HOURLY_PERIOD_HOURS:
            # The days that ended from their daily rollups, today from its hours: two queries.
            today = day_of(now)
            points = [
                *self.repository.days(gpu_type, since, today - timedelta(days=1)),
                *self.repository.hours(gpu_type, today, now),
            ]
        else:
            points = self.repository.hours(gpu_type, hour_of(since), now)
        return bucketed(points, region or ALL_REGIONS, timedelta(minutes=minutes))

    def forecast(self, gpu_type: str, region: str | None) -> Forecast:
        now = self.clock()
        where = region or ALL_REGIONS
        series = self._hourly_series(gpu_type, where, now)
        latest = max(series) if series else None
        current = series[latest] if latest is not None else None
        span = int((latest - min(series)) / model.HOUR) + 1 if latest is not None else 0
        predicted = model.fit_and_forecast(series, latest) if latest is not None else None
        if predicted is None or current is None or latest is None:
            return Forecast(
                gpu_type=gpu_type,
                region=where,
                at=now,
                status="insufficient_history",
                current_price=current,
                history_hours=span,
                horizons=[],
                model_accuracy=None,
                naive_accuracy=None,
                beats_naive=None,
                recommendation="Not enough history to forecast: a day of prices is needed",
            )
        scores = model.backtest(series, latest)
        horizons = [_horizon(ahead, predicted[ahead - 1], scores.at(ahead)) for ahead in PREDICTED_HORIZONS]
        return Forecast(
            gpu_type=gpu_type,
            region=where,
            at=now,
            status="ok" if scores.model_error is not None else "insufficient_history",
            current_price=round(current, 4),
            history_hours=span,
            horizons=horizons,
            model_accuracy=model.accuracy(scores.model_error),
            naive_accuracy=model.accuracy(scores.naive_error),
            beats_naive=scores.beats_naive if scores.model_error is not None else None,
            recommendation=recommendation(current, predicted, scores),
        )

    def summary(self) -> MarketSummary:
        """Two requests: the latest prices, and every GPU type's median a day before the last hour."""
        now = self.clock()
        latest = [point for point in self.repository.latest() if point.gap is None]
        day_before = self.repository.market_hour(hour_of(now) - timedelta(hours=25))
        changes: dict[str, float] = {}
        for point in latest:
            then, today = day_before.get(point.gpu_type), _median(point)
            if then and today:
                changes[point.gpu_type] = (today - then) / then * 100
        rising = sorted((change, gpu) for gpu, change in changes.items() if change > 0)
        return MarketSummary(
            at=now,
            total_gpus_available=sum(
                item.gpus_available for point in latest if (item := point.slice()) is not None
            ),
            avg_price_change_24h=round(statistics.fmean(changes.values()), 2) if changes else None,
            trending_gpus=[gpu for _, gpu in reversed(rising[-TRENDING:])],
        )

    def providers(self) -> list[ProviderStanding]:
        """Each provider's mean price from our collections and uptime from our machines (two reads: the
        latest prices and every provider's uptime), and host reliability from its own scores. A provider
        that cannot be asked for offers now leaves its own figures null, with the reason, and ours stand."""
        medians: dict[str, list[float]] = {}
        for point in self.repository.latest():
            if (price := _median(point)) is not None:
                medians.setdefault(point.provider, []).append(price)
        offers, unreachable = self._offers_by_provider()
        lived = self.uptimes.uptimes(UPTIME_DAYS) if self.uptimes is not None else {}
        names = sorted(set(medians) | set(offers) | set(unreachable) | set(lived))
        standings = []
        for name in names:
            scores = [offer.reliability / 5 for offer in offers.get(name, [])]
            prices = medians.get(name, [])
            why_not = unreachable.get(name)
            standings.append(
                ProviderStanding(
                    name=PROVIDER_NAMES.get(name, name),
                    reliability_score=round(statistics.fmean(scores), 3) if scores else None,
                    reliability_source=RELIABILITY_SOURCE
                    if why_not is None
                    else f"{RELIABILITY_SOURCE}: not known now, {why_not}",
                    avg_price=round(statistics.fmean(prices), 4) if prices else None,
                    avg_price_source="our price collection: median on-demand price per GPU-hour",
                    offers_available=len(scores) if why_not is None else None,
                    **self._uptime(lived.get(name)),
                )
            )
        return standings

    def _offers_by_provider(self) -> tuple[dict[str, list[MarketOffer]], dict[str, str]]:
        """Each provider's offers now, and why not for those that could not be asked."""
        found: dict[str, list[MarketOffer]] = {}
        unreachable: dict[str, str] = {}
        if self.offers is None:
            return found, unreachable
        for provider in self.offers.providers:
            try:
                found[provider.name] = self.offers.of_provider(provider)
            except ServiceUnavailable as error:
                unreachable[provider.name] = error.message
        return found, unreachable

    def _uptime(self, lived: Uptime | None) -> dict[str, Any]:
        """`uptime_percent` from what our machines at a provider lived through, or null and why not."""
        if self.uptimes is None:
            return {"uptime_percent": None, "uptime_source": UPTIME_NOT_RECORDED}
        if lived is None or lived.percent is None:
            return {"uptime_percent": None, "uptime_source": UPTIME_NO_HISTORY, "interruptions": 0}
        return {
            "uptime_percent": lived.percent,
            "uptime_source": UPTIME_MEASURED,
            "interruptions": lived.interruptions,
        }

    def _hourly_series(self, gpu_type: str, region: str, now: datetime) -> dict[datetime, float]:
        """Median on-demand prices by hour over the model's days: rollups, then this hour's points."""
        since = hour_of(now) - timedelta(days=MODEL_DAYS)
        rollups = self.repository.hours(gpu_type, since, now)
        this_hour = self.repository.points(gpu_type, hour_of(now), now)
        series = {point.at: price for point in rollups if (price := _median(point, region)) is not None}
        current = [price for point in this_hour if (price := _median(point, region)) is not None]
        if current:
            series[hour_of(now)] = statistics.fmean(current)
        return series


def _median(point: PricePoint | None, region: str = ALL_REGIONS) -> float | None:
    found = point.slice(region) if point is not None else None
    return found.on_demand.median if found is not None and found.on_demand is not None else None


def _horizon(ahead: int, price: float, score: model.HorizonScore) -> HorizonForecast:
    low = high = None
    if score.interval is not None:
        low, high = round(price * score.interval[0], 4), round(price * score.interval[1], 4)
    return HorizonForecast(
        hours=ahead,
        price=round(price, 4),
        low=low,
        high=high,
        confidence=round(score.coverage, 4) if score.coverage is not None else None,
        model_error=round(score.model_error, 4) if score.model_error is not None else None,
        naive_error=round(score.naive_error, 4) if score.naive_error is not None else None,
    )


def recommendation(current: float, predicted: Sequence[float], scores: model.Backtest) -> str:
    """Wait only for a drop larger than the model's own backtested error at that horizon."""
    if scores.model_error is None:
        return "Rent when you need to: the forecast cannot be judged on less than two days of prices yet"
    if not scores.beats_naive:
        return "Rent when you need to: on this market the forecast does no better than the last price"
    best = min(range(len(predicted)), key=lambda index: predicted[index])
    drop = (current - predicted[best]) / current
    error = scores.at(best + 1).model_error
    if error is None or drop <= error:
        return "Rent now: no drop larger than the forecast's own error is expected in the next 24 hours"
    hours = best + 1
    window = f"{max(1, hours - 1)}-{hours + 1} hours"
    return (
        f"Wait {window} for best price: forecast {drop:.0%} lower (${predicted[best]:.2f}/GPU-hour), "
        f"more than the forecast's {error:.0%} error at that horizon"
    )


def bucketed(points: Sequence[PricePoint], region: str, interval: timedelta) -> list[HistoryPoint]:
    """Points grouped by interval: the lowest of the lowest prices, the means of the other figures; an
    interval with only gaps is a gap."""
    groups: dict[float, list[PricePoint]] = {}
    seconds = interval.total_seconds()
    for point in points:
        groups.setdefault(point.at.timestamp() // seconds * seconds, []).append(point)
    history = []
    for start, members in sorted(groups.items()):
        slices = [
            item for point in members if point.gap is None and (item := point.slice(region)) is not None
        ]
        history.append(_history_point(members[0].at, start, slices, interval))
    return history


def _history_point(
    sample: datetime, start: float, slices: Sequence[MarketSlice], interval: timedelta
) -> HistoryPoint:
    timestamp = datetime.fromtimestamp(start, sample.tzinfo)
    if not slices:
        return HistoryPoint(
            timestamp=timestamp,
            on_demand=None,
            interruptible=None,
            offers_available=None,
            gpus_available=None,
            gap=True,
        )
    return HistoryPoint(
        timestamp=timestamp,
        on_demand=mean_stats([item.on_demand for item in slices]),
        interruptible=mean_stats([item.interruptible for item in slices]),
        offers_available=round(statistics.fmean(item.offers_available for item in slices)),
        gpus_available=round(statistics.fmean(item.gpus_available for item in slices)),
        gap=False,
    )
