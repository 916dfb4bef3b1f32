"""The market over HTTP, on the local stack's day and a half of price history: prices for every GPU
type, their history, forecasts with their measured accuracy beside the naive forecast's, and the older
documents' shapes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
import pytest

from dumont_core.providers.catalog import known_gpu_type_ids
from local_stack.stack import LocalStack
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e

HISTORY_WAIT_SECONDS = 240


@pytest.fixture(scope="module", autouse=True)
def history(stack: LocalStack) -> None:
    assert stack.market_history is not None
    assert stack.market_history.wait(HISTORY_WAIT_SECONDS), "the price history was never made"


def test_prices_now_for_every_gpu_type(api: httpx.Client) -> None:
    response = api.get("/api/v1/market/prices")
    assert response.status_code == 200, response.text
    prices = response.json()["data"]
    assert sorted(point["gpu_type"] for point in prices) == sorted(known_gpu_type_ids())
    for point in prices:
        everywhere = point["regions"][0]
        assert everywhere["region"] == "all" and everywhere["offers_available"] > 0
        assert everywhere["interruptible"]["lowest"] < everywhere["on_demand"]["lowest"]
    response = api.get("/api/v1/market/prices", params={"gpu_type": "RTX 4090", "region": "US-East"})
    (point,) = response.json()["data"]
    assert point["gpu_type"] == "RTX_4090" and [item["region"] for item in point["regions"]] == ["us-east"]


def test_history_has_a_point_an_hour(api: httpx.Client) -> None:
    response = api.get(
        "/api/v1/market/history", params={"gpu_type": "RTX_4090", "period": "7d", "interval": "1h"}
    )
    assert response.status_code == 200, response.text
    points = response.json()["data"]["points"]
    assert len(points) >= 30
    assert not any(point["gap"] for point in points)
    assert all(point["on_demand"]["lowest"] <= point["on_demand"]["median"] for point in points)


def test_predictions_report_their_accuracy_beside_the_naive_forecast(api: httpx.Client) -> None:
    response = api.get("/api/v1/market/predictions", params={"gpu_type": "RTX_4090"})
    assert response.status_code == 200, response.text
    forecast = response.json()["data"]
    assert forecast["status"] == "ok"
    assert [horizon["hours"] for horizon in forecast["horizons"]] == [1, 6, 24]
    assert 0 <= forecast["model_accuracy"] <= 1 and 0 <= forecast["naive_accuracy"] <= 1
    assert forecast["beats_naive"] == (forecast["model_accuracy"] > forecast["naive_accuracy"])

    legacy = api.get("/api/metrics/predictions/RTX 4090").json()
    assert legacy["gpu_name"] == "RTX 4090"
    assert set(legacy["predictions"]) == {"next_1h", "next_6h", "next_24h"}
    assert legacy["model_accuracy"] == forecast["model_accuracy"]
    # The advice follows the rule: wait only on a model that beats the last price, for a drop larger than
    # its own error.
    advice = legacy["recommendation"]
    if not legacy["beats_naive"]:
        assert advice.startswith("Rent when you need to"), advice
    elif advice.startswith("Wait "):
        found = re.search(r"forecast (\d+)% lower .* the forecast's (\d+)% error", advice)
        assert found is not None, advice
        assert int(found[1]) >= int(found[2])
    else:
        assert advice.startswith("Rent now: no drop larger than the forecast's own error"), advice


def latest_collection(api: httpx.Client) -> datetime:
    (point,) = api.get("/api/v1/market/prices", params={"gpu_type": "RTX_4090"}).json()["data"]
    return datetime.fromisoformat(point["timestamp"])


def test_the_schedule_collects_after_the_history_was_made(api: httpx.Client, stack: LocalStack) -> None:
    before = latest_collection(api)
    # The schedule starts once the history is made; give it three of its periods, then some.
    deadline = 3 * stack.config.price_collection_seconds + 30
    assert eventually(lambda: latest_collection(api) > before, seconds=deadline), "no scheduled collection"
    newest = latest_collection(api)
    response = api.get(
        "/api/v1/market/history", params={"gpu_type": "RTX_4090", "period": "1h", "interval": "5m"}
    )
    last = response.json()["data"]["points"][-1]
    assert not last["gap"]
    assert timedelta(0) <= newest - datetime.fromisoformat(last["timestamp"]) < timedelta(minutes=5)


def test_market_metrics(api: httpx.Client) -> None:
    response = api.get("/api/metrics/market")
    assert response.status_code == 200, response.text
    market = response.json()
    assert market["total_gpus_available"] > 0
    assert isinstance(market["trending_gpus"], list)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/market/prices", {"gpu_type": "RTX 9999"}, "gpu_type"),
        ("/api/v1/market/prices", {"region": "mars"}, "region"),
        ("/api/v1/market/history", {"gpu_type": "RTX_4090", "period": "2w"}, "period"),
        ("/api/v1/market/history", {"gpu_type": "RTX_4090", "period": "7d", "interval": "5m"}, "interval"),
        ("/api/v1/market/predictions", {}, "gpu_type"),
    ],
)
def test_bad_questions_get_a_400_naming_the_field(
    api: httpx.Client, path: str, params: dict[str, str], field: str
) -> None:
    response = api.get(path, params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in [item["field"] for item in error["details"]["fields"]]


def test_providers(api: httpx.Client) -> None:
    response = api.get("/api/metrics/providers")
    assert response.status_code == 200, response.text
    (vast,) = response.json()["providers"]
    assert vast["name"] == "Vast.ai" and 0 < vast["reliability_score"] <= 1 and vast["avg_price"] > 0
