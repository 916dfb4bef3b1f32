"""What the Vast.ai adapter sends over the wire, and how it retries or gives up when the marketplace fails."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dumont_core.providers.models import (
    OfferQuery,
    OfferUnavailable,
    ProviderAuthenticationFailed,
    ProviderError,
    ProviderThrottled,
    ProviderUnavailable,
)
from dumont_core.providers.vastai import VastAiProvider
from local_stack.marketplace import LocalMarketplace
from tests.integration.providers.conftest import cheapest, creates_seen, rent

# --- what goes over the wire ------------------------------------------------------------------


def test_every_request_carries_the_key_and_exact_json_content_type(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    machine_id = rent(provider, cheapest(provider))
    provider.stop_machine(machine_id)
    provider.start_machine(machine_id)
    provider.reboot_machine(machine_id)
    provider.destroy_machine(machine_id)

    seen = marketplace.requests_seen()
    assert {request["operation"] for request in seen} == {"search", "create", "manage", "reboot", "destroy"}
    assert all(request["authorized"] for request in seen)
    with_body = [request for request in seen if request["body"] is not None]
    # The CLI sends `{}` with a destroy too.
    assert {request["operation"] for request in with_body} == {
        "search",
        "create",
        "manage",
        "reboot",
        "destroy",
    }
    assert {request["content_type"] for request in with_body} == {"application/json"}
    [create] = creates_seen(marketplace)
    assert isinstance(create["body"], dict)
    assert create["body"]["client_id"] == "me"
    assert create["body"]["image"] == "pytorch/pytorch:latest"
    assert "price" not in create["body"]


def test_the_marketplace_refuses_a_content_type_that_is_not_exactly_json(
    marketplace: LocalMarketplace,
) -> None:
    answer = httpx.post(
        f"{marketplace.url}/api/v0/bundles/",
        content=b"{}",
        headers={
            "Authorization": f"Bearer {marketplace.api_key}",
            "Content-Type": "application/json; charset=utf-8",
        },
    )
    assert answer.status_code == 415
    assert answer.json()["success"] is False


def test_a_wrong_key_is_authentication_failed(marketplace: LocalMarketplace, sleeps: list[float]) -> None:
    vast = VastAiProvider(marketplace.url, "not-the-key", sleep=sleeps.append)
    with vast, pytest.raises(ProviderAuthenticationFailed) as raised:
        vast.search_offers(OfferQuery(gpu_names=["RTX 4090"], min_reliability=0.9, min_disk_gb=1, limit=1))
    assert raised.value.status_code == 401
    assert "not-the-key" not in str(raised.value)
    assert [request["authorized"] for request in marketplace.requests_seen()] == [False]
    assert sleeps == []


# --- failures and retries ---------------------------------------------------------------------


def test_429_then_success_is_retried_with_backoff(
    provider: VastAiProvider, marketplace: LocalMarketplace, sleeps: list[float]
) -> None:
    offer = cheapest(provider)
    marketplace.fail_next_creates(2, 429, {"detail": "API requests too frequent endpoint threshold=4.0"})
    machine_id = rent(provider, offer)
    assert sleeps == [0.5, 1.0]
    assert [request["status"] for request in creates_seen(marketplace)] == [429, 429, 200]
    assert [machine["id"] for machine in marketplace.machines()] == [int(machine_id)]
    provider.destroy_machine(machine_id)


def test_429_honours_retry_after(
    provider: VastAiProvider, marketplace: LocalMarketplace, sleeps: list[float]
) -> None:
    offer = cheapest(provider)
    marketplace.fail_next_creates(1, 429, retry_after=3)
    provider.destroy_machine(rent(provider, offer))
    assert sleeps == [3.0]


@pytest.mark.parametrize(
    ("status", "body", "retry_after", "raised_as", "quoted", "carried", "waits"),
    [
        pytest.param(
            429,
            {"detail": "API requests too frequent endpoint threshold=4.0"},
            2,
            ProviderThrottled,
            "API requests too frequent",
            {"status_code": 429, "retry_after_seconds": 2.0},
            [2.0, 2.0, 2.0],
            id="429-throttled-as-told",
        ),
        pytest.param(
            500,
            {"success": False, "error": "server_error", "msg": "database is busy"},
            None,
            ProviderUnavailable,
            "database is busy",
            {"status_code": 500},
            [0.5, 1.0, 2.0],
            id="500-unavailable-after-backoff",
        ),
    ],
)
def test_a_rent_failing_every_time_gives_up_after_four_tries_and_rents_nothing(
    provider: VastAiProvider,
    marketplace: LocalMarketplace,
    sleeps: list[float],
    status: int,
    body: dict[str, Any],
    retry_after: float | None,
    raised_as: type[ProviderError],
    quoted: str,
    carried: dict[str, Any],
    waits: list[float],
) -> None:
    offer = cheapest(provider)
    marketplace.fail_next_creates(10, status, body, retry_after=retry_after)
    with pytest.raises(raised_as) as raised:
        rent(provider, offer)
    assert quoted in raised.value.message
    assert {name: getattr(raised.value, name) for name in carried} == carried
    assert sleeps == waits
    assert len(creates_seen(marketplace)) == 4
    assert marketplace.machines() == []


def test_410_is_offer_unavailable_without_retry(
    provider: VastAiProvider, marketplace: LocalMarketplace, sleeps: list[float]
) -> None:
    offer = cheapest(provider)
    marketplace.fail_next_creates(
        1, 410, {"success": False, "error": "no_such_ask", "msg": "Instance type 1 is no longer available."}
    )
    with pytest.raises(OfferUnavailable) as raised:
        rent(provider, offer)
    assert "no longer available" in raised.value.message
    assert sleeps == []
    assert len(creates_seen(marketplace)) == 1


def test_a_withdrawn_offer_is_offer_unavailable_without_retry(
    provider: VastAiProvider, marketplace: LocalMarketplace, sleeps: list[float]
) -> None:
    offer = cheapest(provider)
    marketplace.withdraw_offer(offer.offer_id)
    with pytest.raises(OfferUnavailable) as raised:
        rent(provider, offer)
    assert "no_such_ask" in raised.value.message
    assert f"Instance type by id {offer.offer_id} is not available." in raised.value.message
    assert sleeps == []
    assert len(creates_seen(marketplace)) == 1
    assert cheapest(provider).offer_id != offer.offer_id
    assert marketplace.machines() == []


def test_an_unreachable_marketplace_is_unavailable(sleeps: list[float]) -> None:
    with LocalMarketplace() as market:
        url = market.url
    vast = VastAiProvider(url, "secret-key-123", timeout_seconds=1, sleep=sleeps.append)
    with vast, pytest.raises(ProviderUnavailable) as raised:
        vast.get_machine("1")
    assert "secret-key-123" not in str(raised.value)
    assert sleeps == [1.0, 2.0, 4.0]


def test_a_failure_injected_for_one_label_spares_every_other_machine(
    provider: VastAiProvider, marketplace: LocalMarketplace, sleeps: list[float]
) -> None:
    ours = rent(provider, cheapest(provider), label="dumont:team:inst_ours")
    theirs = rent(provider, cheapest(provider), label="dumont:team:inst_theirs")
    marketplace.fail_next_calls("destroy", 4, 500, label_ending=":inst_ours")

    provider.destroy_machine(theirs)
    with pytest.raises(ProviderUnavailable):
        provider.destroy_machine(ours)

    assert [machine["id"] for machine in marketplace.machines()] == [int(ours)]
    provider.destroy_machine(ours)
    assert marketplace.machines() == []


# --- control endpoints ------------------------------------------------------------------------


def test_sim_endpoints_drive_the_same_failures(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    offer = cheapest(provider)
    answer = httpx.post(f"{marketplace.url}/_sim/offers/{offer.offer_id}/withdraw")
    assert answer.status_code == 200
    with pytest.raises(OfferUnavailable):
        rent(provider, offer)

    other = cheapest(provider)
    httpx.post(f"{marketplace.url}/_sim/fail_next_creates", json={"count": 1, "status": 410})
    with pytest.raises(OfferUnavailable):
        rent(provider, other)

    machine_id = rent(provider, other)
    listed = httpx.get(f"{marketplace.url}/_sim/machines").json()["machines"]
    assert [machine["id"] for machine in listed] == [int(machine_id)]
    httpx.post(f"{marketplace.url}/_sim/reset")
    assert marketplace.machines() == []
