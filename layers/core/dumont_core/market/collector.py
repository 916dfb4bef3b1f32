"""Price collection: ask each provider for the offers of every GPU type we rent, keep what they cost
per GPU-hour by region (lowest, 10th percentile, median; on-demand and interruptible apart) and how many
are offered, and roll the hours that ended up.

A provider that cannot be asked about a GPU type leaves a gap for that GPU type, never a price of zero.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dumont_core.market.models import ALL_REGIONS, CollectionReport, MarketSlice, PricePoint, PriceStats
from dumont_core.market.repository import MarketRepository, day_of
from dumont_core.platform.clock import Clock
from dumont_core.providers.catalog import GPU_TYPES, GpuType
from dumont_core.providers.models import GpuProvider, Offer, OfferQuery, ProviderError

OFFERS_PER_GPU_TYPE = 500
"""How many of a GPU type's offers one collection looks at, cheapest first."""
HOUR = timedelta(hours=1)
MAX_HOURS_ROLLED_PER_RUN = 48
"""A collector that was down longer rolls up only the last two days it missed; their points are kept a
week, so the history keeps what it had."""


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """The value `share` of the way through `sorted_values`, interpolated between neighbours."""
    position = (len(sorted_values) - 1) * share
    below = int(position)
    above = min(below + 1, len(sorted_values) - 1)
    return sorted_values[below] + (sorted_values[above] - sorted_values[below]) * (position - below)


def stats_of(prices: Iterable[float]) -> PriceStats | None:
    ordered = sorted(prices)
    if not ordered:
        return None
    return PriceStats(
        lowest=round(ordered[0], 4),
        p10=round(percentile(ordered, 0.1), 4),
        median=round(percentile(ordered, 0.5), 4),
    )


def slice_of(region: str, offers: Sequence[Offer]) -> MarketSlice:
    return MarketSlice(
        region=region,
        on_demand=stats_of(offer.price_per_hour / offer.num_gpus for offer in offers),
        interruptible=stats_of(
            offer.min_bid_per_hour / offer.num_gpus for offer in offers if offer.min_bid_per_hour is not None
        ),
        offers_available=len(offers),
        gpus_available=sum(offer.num_gpus for offer in offers),
    )


def point_from_offers(gpu_type: str, provider: str, at: datetime, offers: Sequence[Offer]) -> PricePoint:
    """A slice per region the offers are in, and one for all of them."""
    by_region: dict[str, list[Offer]] = {}
    for offer in offers:
        if offer.region is not None:
            by_region.setdefault(offer.region, []).append(offer)
    slices = [slice_of(ALL_REGIONS, offers)] + [
        slice_of(region, found) for region, found in sorted(by_region.items())
    ]
    return PricePoint(gpu_type=gpu_type, provider=provider, at=at, slices=slices)


DAILY_PROVIDER = "all"
"""A daily rollup counts every provider's hours: it is read for long histories, which merge them."""


def rollup_of(gpu_type: str, provider: str, hour: datetime, points: Sequence[PricePoint]) -> PricePoint:
    """An hour of points as one: the lowest of the lowest prices, the mean of the other figures."""
    collected = [point for point in points if point.gap is None]
    if not collected:
        return PricePoint(
            gpu_type=gpu_type, provider=provider, at=hour, gap="no collection succeeded in that time"
        )
    regions = sorted({item.region for point in collected for item in point.slices})
    slices = []
    for region in regions:
        found = [item for point in collected if (item := point.slice(region)) is not None]
        slices.append(
            MarketSlice(
                region=region,
                on_demand=mean_stats([item.on_demand for item in found]),
                interruptible=mean_stats([item.interruptible for item in found]),
                offers_available=round(statistics.fmean(item.offers_available for item in found)),
                gpus_available=round(statistics.fmean(item.gpus_available for item in found)),
            )
        )
    return PricePoint(gpu_type=gpu_type, provider=provider, at=hour, slices=slices)


def mean_stats(stats: Sequence[PriceStats | None]) -> PriceStats | None:
    present = [item for item in stats if item is not None]
    if not present:
        return None
    return PriceStats(
        lowest=min(item.lowest for item in present),
        p10=round(statistics.fmean(item.p10 for item in present), 4),
        median=round(statistics.fmean(item.median for item in present), 4),
    )


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True, kw_only=True)
class PriceCollector:
    providers: Sequence[GpuProvider]
    repository: MarketRepository
    clock: Clock
    gpu_types: Sequence[GpuType] = GPU_TYPES

    def collect(self, at: datetime | None = None) -> CollectionReport:
        """One collection, as of `at` (now by default): a point per GPU type and provider, then the
        rollups of the hours that ended since the last."""
        moment = at or self.clock()
        points: list[PricePoint] = []
        calls = 0
        for provider in self.providers:
            for gpu in self.gpu_types:
                calls += 1
                points.append(self._look(provider, gpu, moment))
        self.repository.record(points)
        return CollectionReport(
            at=moment,
            provider_calls=calls,
            points=len(points),
            gaps=[f"{point.provider}:{point.gpu_type}" for point in points if point.gap is not None],
            hours_rolled_up=self.roll_up(moment),
        )

    def roll_up(self, now: datetime) -> int:
        """Roll up each hour that ended since the last rolled up, one hour at a time; how many. The first
        run ever only marks where rolling up starts: nothing was collected before it."""
        last_ended = hour_of(now) - HOUR
        previous = self.repository.rolled_up_through()
        if previous is None:
            self.repository.record_rollups([], last_ended, None)
            return 0
        hour = max(previous + HOUR, last_ended - HOUR * (MAX_HOURS_ROLLED_PER_RUN - 1))
        rolled = 0
        while hour <= last_ended:
            rollups = self._rollups_of(hour)
            days = self._days_ended_by(hour, rollups)
            if not self.repository.record_rollups(rollups, hour, previous, days):
                break  # another run is rolling these hours up
            previous, hour, rolled = hour, hour + HOUR, rolled + 1
        return rolled

    def _rollups_of(self, hour: datetime) -> list[PricePoint]:
        rollups = []
        for gpu in self.gpu_types:
            points = self.repository.points(gpu.id, hour, hour + HOUR - timedelta(microseconds=1))
            for provider in self.providers:
                mine = [point for point in points if point.provider == provider.name]
                rollups.append(rollup_of(gpu.id, provider.name, hour, mine))
        return rollups

    def _days_ended_by(self, hour: datetime, rollups: Sequence[PricePoint]) -> list[PricePoint]:
        """The daily rollup of each GPU type when `hour` is its day's last (a query per GPU type a day):
        the day's hourly rollups as one, the same way an hour's points are."""
        if (hour + HOUR).hour != 0:
            return []
        day = day_of(hour)
        days = []
        for gpu in self.gpu_types:
            earlier = self.repository.hours(gpu.id, day, hour - HOUR) if hour > day else []
            last = [rollup for rollup in rollups if rollup.gpu_type == gpu.id]
            days.append(rollup_of(gpu.id, DAILY_PROVIDER, day, [*earlier, *last]))
        return days

    def _look(self, provider: GpuProvider, gpu: GpuType, at: datetime) -> PricePoint:
        query = OfferQuery(
            gpu_names=gpu.provider_names, min_reliability=0.0, min_disk_gb=0.0, limit=OFFERS_PER_GPU_TYPE
        )
        try:
            offers = provider.search_offers(query)
        except ProviderError as error:
            return PricePoint(gpu_type=gpu.id, provider=provider.name, at=at, gap=error.message)
        return point_from_offers(gpu.id, provider.name, at, offers)
