"""A forecast made from what the collector kept: five days of the local marketplace's prices, collected
an hour apart through the real Vast.ai adapter, rolled up, and forecast by the market service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from dumont_core.market.collector import PriceCollector
from dumont_core.market.repository import MarketRepository
from dumont_core.market.service import MarketService
from dumont_core.providers.catalog import GPU_TYPES
from dumont_core.providers.vastai import VastAiProvider
from local_stack.marketplace import LocalMarketplace
from local_stack.marketplace.prices import PriceDynamics, PriceModel
from tests.fakes.clock import Clock

START = datetime(2026, 11, 20, tzinfo=UTC)
SEED = 11
RTX_4090 = next(gpu for gpu in GPU_TYPES if gpu.id == "RTX_4090")
DAYS = 5


def test_on_the_marketplaces_daily_cycle_the_forecast_beats_the_last_price(
    market_repository: MarketRepository, clock: Clock
) -> None:
    prices = PriceModel(SEED, clock=lambda: 0.0, epoch=START.timestamp(), dynamics=PriceDynamics.MARKET)
    marketplace = LocalMarketplace(seed=SEED, clock=lambda: 0.0, prices=prices)
    with VastAiProvider(
        "http://marketplace.test", marketplace.api_key, transport=httpx.WSGITransport(app=marketplace.app)
    ) as vast:
        collector = PriceCollector(
            providers=[vast], repository=market_repository, clock=clock, gpu_types=(RTX_4090,)
        )
        for hour in range(DAYS * 24 + 1):
            moment = START + timedelta(hours=hour)
            with prices.pinned_at(moment.timestamp()):
                assert collector.collect(at=moment).gaps == []
    clock.now = START + timedelta(days=DAYS, minutes=1)
    forecast = MarketService(repository=market_repository, clock=clock).forecast("RTX_4090", None)
    assert forecast.status == "ok" and forecast.history_hours == DAYS * 24 + 1
    assert forecast.model_accuracy is not None and forecast.naive_accuracy is not None
    assert forecast.beats_naive is True
    assert forecast.model_accuracy > forecast.naive_accuracy
    assert [horizon.hours for horizon in forecast.horizons] == [1, 6, 24]
