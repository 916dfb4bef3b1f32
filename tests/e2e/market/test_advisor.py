"""The GPU advisor over HTTP, on the local marketplace's offers."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_a_recommendation_whose_reasoning_can_be_followed(api: httpx.Client) -> None:
    response = api.post(
        "/api/ai/recommend-gpu",
        json={"task": "fine-tune llama2-7b", "dataset_size": "2GB", "budget_per_hour": 1.0},
    )
    assert response.status_code == 200, response.text
    advice = response.json()
    assert advice["recommended_gpu"] and advice["estimated_time"] and advice["total_cost"].startswith("$")
    assert advice["memory_needed_gb"] == 20.2 and "x 1.3" in advice["memory_rule"]
    assert advice["recommendation"]["price_per_hour"] <= 1.0
    assert "20.2 GB" in advice["reasoning"]


def test_a_budget_nothing_fits_and_a_task_it_cannot_read(api: httpx.Client) -> None:
    advice = api.post("/api/ai/recommend-gpu", json={"task": "inference llama2-70b", "budget_per_hour": 0.05})
    assert advice.status_code == 200
    assert advice.json()["recommended_gpu"] is None and "Nothing that fits" in advice.json()["reasoning"]
    refused = api.post("/api/ai/recommend-gpu", json={"task": "make me a chatbot"})
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["understood"] == {"action": None, "model": None}
