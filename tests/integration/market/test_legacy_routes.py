"""The older documents' market routes through the API function: GPUs by their names ("RTX 4090"), as
seed 002 shows them and the advisor answers them, not by our ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dumont_core import composition
from dumont_core.market.collector import PriceCollector
from dumont_core.market.service import MarketService
from dumont_core.platform.identity import Principal
from tests.fakes.api_gateway import answer_body, rest_event
from tests.fakes.clock import Clock
from tests.fakes.provider import FakeProvider
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
