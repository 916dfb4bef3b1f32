"""The price collector as EventBridge runs it on its schedule: a scheduled event in, the prices of every
GPU type kept in the table (moto), and a report of what the run did."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from dumont_core import composition
from dumont_core.market.repository import MarketRepository
from dumont_core.market.service import MarketService
from dumont_core.platform.clock import utc_now
from dumont_core.providers.catalog import known_gpu_type_ids
from tests.fakes.api_gateway import ACCOUNT, LambdaContext
from tests.fakes.provider import FakeProvider

SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": ACCOUNT,
    "time": "2026-12-02T08:00:00Z",
    "region": "us-east-1",
    "resources": [f"arn:aws:events:us-east-1:{ACCOUNT}:rule/dumont-PriceCollectorSchedule"],
    "detail": {},
}


@pytest.fixture
def collector_function(
    dynamodb_table: str, provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    monkeypatch.setenv("VAST_API_KEY", "not-used-the-provider-is-given")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "dumont")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Dumont")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    composition.reset()
    with composition.overridden(gpu_provider=provider):
        yield importlib.import_module("schedules.prices").lambda_handler
    composition.reset()


def test_a_scheduled_run_keeps_every_gpu_types_prices(
    collector_function: Any, market_repository: MarketRepository
) -> None:
    report = collector_function(SCHEDULED_EVENT, LambdaContext(function_name="dumont-price-collector"))
    assert report["provider_calls"] == len(known_gpu_type_ids()) and report["gaps"] == []
    market = MarketService(repository=market_repository, clock=utc_now)
    prices = {point.gpu_type: point for point in market.prices(None, None)}
    assert sorted(prices) == sorted(known_gpu_type_ids())
    rtx = prices["RTX_4090"].slice()
    assert rtx is not None and rtx.on_demand is not None and rtx.on_demand.lowest == 0.40
    # Its collection is the first point of the history.
    history = market.history("RTX_4090", None, "1h", "5m")
    assert len(history) == 1 and not history[0].gap
    assert utc_now() - history[0].timestamp < timedelta(minutes=5)
