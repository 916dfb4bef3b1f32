"""A real table (moto) with a price collector asking one fake provider about RTX 4090 and A100 offers,
and the market service reading what it kept."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dumont_core.market.collector import PriceCollector
from dumont_core.market.repository import MarketRepository
from dumont_core.market.service import MarketService
from dumont_core.providers.catalog import GPU_TYPES
from tests.fakes.clock import Clock
from tests.fakes.provider import FakeProvider, offer

RTX_4090 = next(gpu for gpu in GPU_TYPES if gpu.id == "RTX_4090")
A100 = next(gpu for gpu in GPU_TYPES if gpu.id == "A100")


@pytest.fixture
def market_repository(dynamodb_table: str) -> MarketRepository:
    return MarketRepository(point_retention=timedelta(days=7), rollup_retention=timedelta(days=365))


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider(
        name="vastai",
        offers=[
            offer(1, price=0.40, min_bid=0.20, region="us-east"),
            offer(2, price=1.00, min_bid=0.60, num_gpus=2, region="us-east"),
            offer(3, price=0.60, min_bid=None, region="eu-west"),
            offer(4, gpu_name="A100 SXM4", price=1.50, min_bid=0.90, region="us-west"),
            offer(5, gpu_name="A100 PCIE", price=1.20, min_bid=0.70, region=None),
        ],
    )


@pytest.fixture
def collector(provider: FakeProvider, market_repository: MarketRepository, clock: Clock) -> PriceCollector:
    return PriceCollector(
        providers=[provider], repository=market_repository, clock=clock, gpu_types=(RTX_4090, A100)
    )


@pytest.fixture
def market(market_repository: MarketRepository, clock: Clock) -> MarketService:
    return MarketService(repository=market_repository, clock=clock)
