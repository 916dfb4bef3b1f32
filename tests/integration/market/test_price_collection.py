"""Price collection on a real table (moto): what a collection keeps, the gap a failing provider leaves,
the hourly rollups, and the history and forecasts read back."""

from __future__ import annotations

import pytest

from dumont_core.market.collector import PriceCollector
from dumont_core.market.offers import OfferBook
from dumont_core.market.repository import MarketRepository
from dumont_core.market.service import MarketService
from dumont_core.platform.errors import ValidationFailed
from dumont_core.providers.models import ProviderUnavailable
from tests.fakes.clock import Clock
from tests.fakes.provider import FakeProvider


def test_a_collection_keeps_prices_per_gpu_hour_by_region(
    collector: PriceCollector, market: MarketService
) -> None:
    report = collector.collect()
    assert report.provider_calls == 2 and report.points == 2 and report.gaps == []
    (rtx,) = market.prices("RTX_4090", None)
    assert [item.region for item in rtx.slices] == ["all", "eu-west", "us-east"]
    everywhere = rtx.slices[0]
    assert everywhere.offers_available == 3 and everywhere.gpus_available == 4
    assert everywhere.on_demand is not None and everywhere.interruptible is not None
    # Per GPU-hour: the two-GPU offer at 1.00 an hour is 0.50 a GPU-hour.
    assert everywhere.on_demand.lowest == 0.40 and everywhere.on_demand.median == 0.50
    assert everywhere.interruptible.lowest == 0.20
    assert everywhere.interruptible.lowest < everywhere.on_demand.lowest
    eu = rtx.slice("eu-west")
    assert eu is not None and eu.interruptible is None and eu.offers_available == 1
    (a100,) = market.prices("A100", None)
    # A host we cannot place counts in `all`, in no region.
    assert a100.slice().offers_available == 2 and [item.region for item in a100.slices] == ["all", "us-west"]


def test_a_provider_that_cannot_be_asked_leaves_a_gap_never_a_zero(
    collector: PriceCollector, provider: FakeProvider, market: MarketService, clock: Clock
) -> None:
    collector.collect()
    first = market.prices("RTX_4090", None)
    clock.advance(minutes=5)
    provider.fail_next("search_offers", ProviderUnavailable("Vast.ai answered 502"))
    report = collector.collect()
    assert report.gaps == ["vastai:RTX_4090"]
    # The latest prices are still the last ones collected, and say when.
    assert market.prices("RTX_4090", None) == first
    history = market.history("RTX_4090", None, "1h", "5m")
    assert [point.gap for point in history] == [False, True]
    assert history[1].on_demand is None and history[1].offers_available is None


def test_hours_that_ended_are_rolled_up_once(
    collector: PriceCollector, provider: FakeProvider, market: MarketService, clock: Clock
) -> None:
    assert collector.collect().hours_rolled_up == 0  # 12:00, the first run: rolling up starts here
    clock.advance(hours=1)
    rolled = []
    for _ in range(3):  # 13:00 (the hour of 12:00 ended), 13:20, 13:40
        rolled.append(collector.collect().hours_rolled_up)
        provider.offers[0] = provider.offers[0].model_copy(update={"price_per_hour": 0.30})
        clock.advance(minutes=20)
    rolled.append(collector.collect().hours_rolled_up)  # 14:00: the hour of 13:00 ended
    rolled.append(collector.collect().hours_rolled_up)
    assert rolled == [1, 0, 0, 1, 0]
    history = market.history("RTX_4090", None, "6h", "1h")
    assert [point.timestamp.hour for point in history] == [12, 13]
    assert history[1].on_demand is not None and history[1].on_demand.lowest == 0.30


def test_forecasts_need_a_day_of_prices(
    collector: PriceCollector, market: MarketService, clock: Clock
) -> None:
    collector.collect()
    forecast = market.forecast("RTX_4090", None)
    assert forecast.status == "insufficient_history"
    assert forecast.model_accuracy is None and forecast.horizons == []
    assert forecast.current_price == 0.50


def test_short_intervals_are_refused_over_long_periods(market: MarketService) -> None:
    with pytest.raises(ValidationFailed, match="use 1h or more"):
        market.history("RTX_4090", None, "7d", "5m")


def test_the_market_at_a_glance_compares_with_a_day_before(
    collector: PriceCollector, provider: FakeProvider, market: MarketService, clock: Clock
) -> None:
    collector.collect()
    clock.advance(hours=1)
    collector.collect()  # the hour of 12:00 is rolled up
    provider.offers[0] = provider.offers[0].model_copy(update={"price_per_hour": 0.60})
    clock.advance(hours=24)
    collector.collect()
    summary = market.summary()
    assert summary.total_gpus_available == 4 + 2
    # RTX 4090's median per GPU-hour went from 0.50 to 0.60; A100's stayed.
    assert summary.trending_gpus == ["RTX_4090"]
    assert summary.avg_price_change_24h == 10.0


def test_providers_say_whose_figure_each_is(
    collector: PriceCollector, provider: FakeProvider, market_repository: MarketRepository, clock: Clock
) -> None:
    collector.collect()
    market = MarketService(
        repository=market_repository, clock=clock, offers=OfferBook(providers=[provider], ttl_seconds=30)
    )
    (vast,) = market.providers()
    assert vast.name == "Vast.ai" and vast.offers_available == 5
    assert vast.reliability_score == 0.98 and "provider's own" in vast.reliability_source
    # The medians per GPU-hour of RTX 4090 (0.50) and A100 (1.35).
    assert vast.avg_price == 0.925 and "our price collection" in vast.avg_price_source
    assert vast.uptime_percent is None and "not recorded" in vast.uptime_source
