"""The older documents' market routes through the API function: GPUs by their names ("RTX 4090"), as
seed 002 shows them and the advisor answers them, not by our ids; providers with what we know of them
when they cannot be asked, and every provider's uptime in one read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from benchmarks.dynamodb_requests import counting
from dumont_core import composition
from dumont_core.instances.uptime import UptimeDelta, UptimeRepository, UptimeService
from dumont_core.market.collector import PriceCollector
from dumont_core.market.offers import OfferBook
from dumont_core.market.repository import MarketRepository
from dumont_core.market.service import MarketService
from dumont_core.platform.identity import Principal
from dumont_core.providers.catalog import GPU_TYPES
from dumont_core.providers.models import ProviderUnavailable
from tests.fakes.api_gateway import answer_body, rest_event
from tests.fakes.clock import Clock
from tests.fakes.provider import FakeProvider, offer
from tests.integration.conftest import ApiFunction

VIEWER = Principal(
    account_id="acct_00000000000000aa",
    team_id="team_00000000000000aa",
    role="viewer",
    plan="pro",
    permissions=frozenset({"instances.view"}),
)


@pytest.fixture
def api(api_function: ApiFunction, market: MarketService) -> Iterator[ApiFunction]:
    with composition.overridden(market=market):
        yield api_function


def get(api: ApiFunction, resource: str, values: dict[str, str] | None = None) -> dict[str, Any]:
    answer = api(rest_event("GET", resource, values, principal=VIEWER))
    assert answer["statusCode"] == 200, answer["body"]
    return answer_body(answer)


def test_predictions_name_the_gpu_as_people_write_it(api: ApiFunction, collector: PriceCollector) -> None:
    collector.collect()
    for spelling in ("RTX_4090", "RTX 4090", "rtx4090"):
        found = get(api, "/api/metrics/predictions/{gpu_name}", {"gpu_name": spelling})
        assert found["gpu_name"] == "RTX 4090"
    assert get(api, "/api/metrics/predictions/{gpu_name}", {"gpu_name": "A100"})["gpu_name"] == "A100"


def test_trending_gpus_are_named_as_people_write_them(
    api: ApiFunction, collector: PriceCollector, provider: FakeProvider, clock: Clock
) -> None:
    collector.collect()
    clock.advance(hours=1)
    collector.collect()
    provider.offers[0] = provider.offers[0].model_copy(update={"price_per_hour": 0.60})
    clock.advance(hours=24)
    collector.collect()
    assert get(api, "/api/metrics/market")["trending_gpus"] == ["RTX 4090"]


def with_uptimes(
    market_repository: MarketRepository,
    clock: Clock,
    providers: list[FakeProvider],
    days: dict[str, UptimeDelta],
) -> MarketService:
    """The market service with live offers from `providers` and our machines' `days` there (today)."""
    recorded = UptimeRepository()
    for name, delta in days.items():
        recorded.add(name, clock().date().isoformat(), delta)
    return MarketService(
        repository=market_repository,
        clock=clock,
        offers=OfferBook(providers=providers, ttl_seconds=30),
        uptimes=UptimeService(repository=recorded, clock=clock),
    )


def test_a_provider_that_cannot_be_asked_keeps_the_figures_that_are_ours(
    api: ApiFunction,
    collector: PriceCollector,
    provider: FakeProvider,
    market_repository: MarketRepository,
    clock: Clock,
) -> None:
    collector.collect()
    lived = UptimeDelta(run_seconds=3600, down_seconds=400, interruptions=1)
    market = with_uptimes(market_repository, clock, [provider], {"vastai": lived})
    for _ in GPU_TYPES:
        provider.fail_next("search_offers", ProviderUnavailable("Vast.ai answered 502"))
    with composition.overridden(market=market):
        (vast,) = get(api, "/api/metrics/providers")["providers"]
    assert vast["avg_price"] == 0.925 and vast["uptime_percent"] == 90.0 and vast["interruptions"] == 1
    assert vast["reliability_score"] is None and vast["offers_available"] is None
    assert "provider's own" in vast["reliability_source"] and "502" in vast["reliability_source"]


def test_every_providers_uptime_is_one_read(
    collector: PriceCollector, provider: FakeProvider, market_repository: MarketRepository, clock: Clock
) -> None:
    collector.collect()
    other = FakeProvider(name="otherprovider", offers=[offer(9, price=0.70, region="us-east")])
    market = with_uptimes(
        market_repository,
        clock,
        [provider, other],
        {
            "vastai": UptimeDelta(run_seconds=900, down_seconds=100),
            "otherprovider": UptimeDelta(run_seconds=500),
        },
    )
    # A day past the month is left out.
    UptimeRepository().add(
        "otherprovider", (clock() - timedelta(days=30)).date().isoformat(), UptimeDelta(down_seconds=500)
    )
    calls: counting.AwsCalls = Counter()
    with counting.counting_aws_calls():
        counting._counting.counter = calls
        try:
            standings = market.providers()
        finally:
            counting._counting.counter = None
    assert {item.name: item.uptime_percent for item in standings} == {"Vast.ai": 90.0, "otherprovider": 100.0}
    # The latest prices and every provider's uptime: two requests, however many providers there are.
    assert sum(n for (service, _), n in calls.items() if service == "dynamodb") == 2
