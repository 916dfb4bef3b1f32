"""Offers over HTTP, asked of the local marketplace live: our shape, filters, paging, bad questions."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_offers_can_be_filtered_sorted_and_paged(api: httpx.Client) -> None:
    response = api.get(
        "/api/v1/offers",
        params={"gpu": "RTX 4090", "region": "us-west", "interruptible": "true", "per_page": 3},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    offers = body["data"]
    assert body["meta"]["per_page"] == 3 and body["meta"]["total"] >= len(offers) > 0
    assert {offer["gpu_type"] for offer in offers} == {"RTX_4090"}
    assert {offer["region"] for offer in offers} == {"us-west"}
    bids = [offer["interruptible_price_per_hour"] for offer in offers]
    assert bids == sorted(bids)
    for offer in offers:
        assert offer["interruptible_price_per_hour"] < offer["price_per_hour"]
        assert offer["price_per_gpu_hour"] == pytest.approx(
            offer["price_per_hour"] / offer["num_gpus"], abs=1e-3
        )
        assert 0 <= offer["reliability"] <= 5

    by_path = api.get("/api/v1/offers/rtx_4090", params={"region": "us-west", "interruptible": "true"})
    assert by_path.status_code == 200
    assert by_path.json()["meta"]["total"] == body["meta"]["total"]


def test_cheap_and_big_filters(api: httpx.Client) -> None:
    offers = api.get("/api/v1/offers", params={"min_vram_gb": 80, "gpus": 2, "per_page": 100}).json()["data"]
    assert offers and all(offer["gpu_memory_gb"] >= 80 and offer["num_gpus"] >= 2 for offer in offers)
    cheap = api.get("/api/v1/offers", params={"max_price": 0.2, "per_page": 100}).json()["data"]
    assert all(offer["price_per_hour"] <= 0.2 for offer in cheap)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"gpu": "RTX 9999"}, "gpu"),
        ({"sort": "cheapest"}, "sort"),
        ({"min_reliability": 7}, "min_reliability"),
    ],
)
def test_bad_filters_get_a_400_naming_the_field(
    api: httpx.Client, params: dict[str, object], field: str
) -> None:
    response = api.get("/api/v1/offers", params=params)
    assert response.status_code == 400, response.text
    assert field in [item["field"] for item in response.json()["error"]["details"]["fields"]]
