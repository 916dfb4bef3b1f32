"""History over a month or a year is read by the day: the collector rolls each day that ends into one
item per GPU type, and those are what a year's history is made of."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dumont_core.market.collector import PriceCollector
from dumont_core.market.models import PricePoint
from dumont_core.market.repository import MarketRepository
from dumont_core.market.service import MarketService
from dumont_core.platform.errors import ValidationFailed
from tests.fakes.clock import Clock
from tests.fakes.provider import FakeProvider


def collect_hourly_until(collector: PriceCollector, provider: FakeProvider, clock: Clock, hours: int) -> None:
    """A collection an hour, the RTX 4090's cheapest offer a cent dearer each time."""
    for step in range(hours):
        collector.collect()
        provider.offers[0] = provider.offers[0].model_copy(update={"price_per_hour": 0.30 + step / 100})
        clock.advance(hours=1)


def test_a_year_by_the_day_is_the_days_the_hours_made(
    collector: PriceCollector, provider: FakeProvider, market: MarketService, clock: Clock
) -> None:
    collect_hourly_until(collector, provider, clock, hours=12 + 24 + 2)  # 12:00 on day 1 to 01:00, day 3
    yearly = market.history("RTX_4090", None, "1y", "1d")
    weekly = market.history("RTX_4090", None, "7d", "1d")  # the same days, from the hourly rollups
    assert [point.timestamp.day for point in yearly] == [1, 2, 3]
    assert yearly == weekly
    assert market.history("RTX_4090", "us-east", "30d", "1d") == market.history(
        "RTX_4090", "us-east", "7d", "1d"
    )
    first_day = yearly[0].on_demand
    assert first_day is not None and first_day.lowest == 0.30


def test_a_year_of_history_comes_from_the_daily_rollups(
    collector: PriceCollector, market_repository: MarketRepository, market: MarketService, clock: Clock
) -> None:
    collector.collect()
    (now,) = market.prices("RTX_4090", None)
    long_ago = (clock() - timedelta(days=200)).replace(hour=0)
    # A day rolled up long before the hourly rollups this test made: only the daily items have it.
    market_repository.record_days(
        [PricePoint(gpu_type="RTX_4090", provider="all", at=long_ago, slices=now.slices)]
    )
    (old,) = market.history("RTX_4090", None, "1y", "1d")
    assert old.timestamp == long_ago and old.on_demand == now.slice().on_demand
    assert market.history("RTX_4090", None, "7d", "1d") == []


@pytest.mark.parametrize("interval", ["1h", "6h"])
def test_a_year_is_only_given_by_the_day(market: MarketService, interval: str) -> None:
    with pytest.raises(ValidationFailed, match="use 1d"):
        market.history("RTX_4090", None, "1y", interval)
