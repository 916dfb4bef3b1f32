"""The real Vast.ai adapter against the local marketplace, over HTTP on an ephemeral port."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import httpx
import pytest

from dumont_core.providers.catalog import region_for_geolocation
from dumont_core.providers.models import (
    MachineRequest,
    Offer,
    OfferQuery,
    OfferUnavailable,
    ProviderAuthenticationFailed,
    ProviderMachine,
    ProviderMachineNotFound,
    ProviderMachineStatus,
    ProviderRequestRejected,
    ProviderThrottled,
    ProviderUnavailable,
)
from dumont_core.providers.vastai import VastAiProvider
from local_stack.marketplace import LocalMarketplace

ALL_GPUS = ["RTX 4090", "RTX 4080", "RTX 3090", "RTX A6000", "A100 SXM4", "A100 PCIE", "H100 SXM", "L40S"]
DOCUMENTATION_NET = ipaddress.ip_network("203.0.113.0/24")


class MarketClock:
    """The marketplace's clock, which moves only when a test lets time pass: a machine boots, stops or
    reboots at the same step of a test however loaded the machine running it is."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


CLOCK = MarketClock()


@pytest.fixture(scope="module")
def marketplace() -> Iterator[LocalMarketplace]:
    with LocalMarketplace(
        seed=20240611, boot_seconds=(0.1, 0.2), action_seconds=(0.1, 0.2), clock=CLOCK
    ) as market:
        yield market


@pytest.fixture(autouse=True)
def fresh_market(marketplace: LocalMarketplace) -> Iterator[None]:
    marketplace.reset()
    yield
    marketplace.reset()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def provider(marketplace: LocalMarketplace, sleeps: list[float]) -> Iterator[VastAiProvider]:
    with VastAiProvider(
        marketplace.url, marketplace.api_key, timeout_seconds=5, backoff_seconds=0.5, sleep=sleeps.append
    ) as vast:
        yield vast


def cheapest(provider: VastAiProvider, gpu_names: list[str] | None = None, **filters: float) -> Offer:
    offers = provider.search_offers(
        OfferQuery(
            gpu_names=gpu_names or ALL_GPUS,
            min_reliability=filters.get("min_reliability", 0.8),
            min_disk_gb=filters.get("min_disk_gb", 50),
            limit=5,
        )
    )
    assert offers, "the seeded market always has rentable offers"
    return offers[0]


def rent(
    provider: VastAiProvider, offer: Offer, bid_per_hour: float | None = None, label: str = "dumont-test"
) -> str:
    return provider.create_machine(
        MachineRequest(
            offer_id=offer.offer_id,
            image="pytorch/pytorch:latest",
            disk_gb=40,
            label=label,
            onstart_script="echo ready",
            bid_per_hour=bid_per_hour,
        )
    )


def wait_for(
    provider: VastAiProvider, machine_id: str, status: ProviderMachineStatus
) -> tuple[ProviderMachine, list[ProviderMachineStatus]]:
    """Let the market's time pass in steps until the machine reaches `status`; also returns every status
    seen on the way."""
    seen: list[ProviderMachineStatus] = []
    for _ in range(250):  # five seconds of the market's time
        machine = provider.get_machine(machine_id)
        if not seen or seen[-1] is not machine.status:
            seen.append(machine.status)
        if machine.status is status:
            return machine, seen
        CLOCK.now += 0.02
    raise AssertionError(f"machine {machine_id} never reached {status}; saw {seen}")


def listed_ids(provider: VastAiProvider, gpu_names: list[str]) -> set[int]:
    offers = provider.search_offers(
        OfferQuery(gpu_names=gpu_names, min_reliability=0, min_disk_gb=0, limit=500)
    )
    return {offer.offer_id for offer in offers}


def all_prices(provider: VastAiProvider) -> dict[int, float]:
    offers = provider.search_offers(
        OfferQuery(gpu_names=ALL_GPUS, min_reliability=0, min_disk_gb=0, limit=500)
    )
    return {offer.offer_id: offer.price_per_hour for offer in offers}


def creates_seen(marketplace: LocalMarketplace) -> list[dict[str, object]]:
    return [request for request in marketplace.requests_seen() if request["operation"] == "create"]


# --- search -----------------------------------------------------------------------------------


def test_search_returns_only_matching_offers_cheapest_first(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    wanted = {"A100 SXM4", "A100 PCIE", "RTX 4090"}
    offers = provider.search_offers(
        OfferQuery(gpu_names=sorted(wanted), min_reliability=0.9, min_disk_gb=200, limit=100)
    )

    expected = {
        offer["id"]
        for offer in marketplace.offers()
        if offer["gpu_name"] in wanted
        and offer["reliability2"] >= 0.9
        and offer["disk_space"] >= 200
        and not offer["rented"]
    }
    assert expected, "the seed should give the filter something to find"
    assert {offer.offer_id for offer in offers} == expected
    prices = [offer.price_per_hour for offer in offers]
    assert prices == sorted(prices)
    for offer in offers:
        assert offer.min_bid_per_hour is not None and offer.min_bid_per_hour < offer.price_per_hour

    top_three = provider.search_offers(
        OfferQuery(gpu_names=sorted(wanted), min_reliability=0.9, min_disk_gb=200, limit=3)
    )
    assert [offer.offer_id for offer in top_three] == [offer.offer_id for offer in offers[:3]]


def test_search_maps_hosts_to_our_regions_and_memory_to_gb(provider: VastAiProvider) -> None:
    offers = provider.search_offers(
        OfferQuery(gpu_names=ALL_GPUS, min_reliability=0.0, min_disk_gb=0, limit=500)
    )
    for offer in offers:
        assert offer.region == region_for_geolocation(offer.geolocation)
    assert {offer.region for offer in offers} >= {
        "us-east",
        "us-central",
        "us-west",
        "ca-central",
        "eu-central",
        "eu-west",
        "eu-north",
        "asia-east",
    }
    texas = [offer for offer in offers if offer.geolocation == "Texas, US"]
    assert texas and all(offer.region == "us-central" for offer in texas)
    memory = {offer.gpu_name: offer.gpu_memory_gb for offer in offers}
    assert memory["RTX 4090"] == 24.0
    assert memory["A100 SXM4"] == 80.0
    assert memory["A100 PCIE"] == 40.0


def test_prices_drift_over_time_within_bounds() -> None:
    now = [1000.0]
    with (
        LocalMarketplace(seed=7, clock=lambda: now[0]) as market,
        VastAiProvider(market.url, market.api_key) as vast,
    ):
        before = all_prices(vast)
        now[0] += 3600
        after = all_prices(vast)
    assert before.keys() == after.keys()
    moved = [offer_id for offer_id in before if before[offer_id] != after[offer_id]]
    assert len(moved) > len(before) // 2
    for offer_id, price in before.items():
        assert 0.7 * price <= after[offer_id] <= 1.3 * price


def test_a_rented_offer_leaves_the_market_and_returns_when_destroyed(provider: VastAiProvider) -> None:
    offer = cheapest(provider)
    machine_id = rent(provider, offer)
    assert offer.offer_id not in listed_ids(provider, [offer.gpu_name])
    provider.destroy_machine(machine_id)
    assert offer.offer_id in listed_ids(provider, [offer.gpu_name])


# --- machine lifecycle ------------------------------------------------------------------------


def test_machine_lifecycle(provider: VastAiProvider, marketplace: LocalMarketplace) -> None:
    offer = cheapest(provider, ["RTX 4090"])
    machine_id = rent(provider, offer)
    assert machine_id.isdigit()

    booting = provider.get_machine(machine_id)
    assert booting.status is ProviderMachineStatus.PROVISIONING
    assert booting.ssh_port is None, "no port is published before the container runs"

    running, seen = wait_for(provider, machine_id, ProviderMachineStatus.RUNNING)
    assert seen[0] is ProviderMachineStatus.PROVISIONING
    assert running.ip_address is not None
    assert ipaddress.ip_address(running.ip_address) in DOCUMENTATION_NET
    assert running.ssh_port is not None and 1024 < running.ssh_port < 65536
    assert running.jupyter_port is not None and running.jupyter_port != running.ssh_port
    assert running.gpu_name == "RTX 4090"
    assert running.price_per_hour == offer.price_per_hour, "on-demand is billed at the offer's price"
    assert running.geolocation == offer.geolocation

    provider.stop_machine(machine_id)
    stopped, _ = wait_for(provider, machine_id, ProviderMachineStatus.STOPPED)
    assert stopped.ssh_port is None

    provider.start_machine(machine_id)
    _, seen = wait_for(provider, machine_id, ProviderMachineStatus.RUNNING)
    assert seen == [ProviderMachineStatus.PROVISIONING, ProviderMachineStatus.RUNNING]

    provider.reboot_machine(machine_id)
    _, seen = wait_for(provider, machine_id, ProviderMachineStatus.RUNNING)
    assert seen == [ProviderMachineStatus.PROVISIONING, ProviderMachineStatus.RUNNING]

    provider.destroy_machine(machine_id)
    with pytest.raises(ProviderMachineNotFound):
        provider.get_machine(machine_id)
    provider.destroy_machine(machine_id)  # already gone is not an error
    with pytest.raises(ProviderMachineNotFound):
        provider.start_machine(machine_id)
    assert marketplace.machines() == []


def test_a_spot_rental_is_billed_at_the_bid(provider: VastAiProvider, marketplace: LocalMarketplace) -> None:
    offer = cheapest(provider)
    assert offer.min_bid_per_hour is not None
    bid = round(offer.min_bid_per_hour + 0.01, 4)
    machine_id = rent(provider, offer, bid_per_hour=bid)
    assert provider.get_machine(machine_id).price_per_hour == bid
    [create] = creates_seen(marketplace)
    assert isinstance(create["body"], dict) and create["body"]["price"] == bid
    provider.destroy_machine(machine_id)


def test_a_bid_under_the_floor_is_rejected(provider: VastAiProvider, marketplace: LocalMarketplace) -> None:
    offer = cheapest(provider)
    assert offer.min_bid_per_hour is not None
    with pytest.raises(ProviderRequestRejected) as raised:
        rent(provider, offer, bid_per_hour=round(offer.min_bid_per_hour / 2, 4))
    assert "minimum bid" in raised.value.message
    assert marketplace.machines() == []


def test_a_machine_that_fails_to_boot_reports_why(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    marketplace.fail_next_boots(1, "nvml error: driver/library version mismatch")
    machine_id = rent(provider, cheapest(provider))
    failed, seen = wait_for(provider, machine_id, ProviderMachineStatus.FAILED)
    assert ProviderMachineStatus.RUNNING not in seen
    assert failed.status_message == "nvml error: driver/library version mismatch"
    provider.destroy_machine(machine_id)
    assert marketplace.machines() == []


def test_a_host_going_offline_is_a_failure(provider: VastAiProvider, marketplace: LocalMarketplace) -> None:
    machine_id = rent(provider, cheapest(provider))
    wait_for(provider, machine_id, ProviderMachineStatus.RUNNING)
    marketplace.fail_machine(int(machine_id), offline=True)
    machine = provider.get_machine(machine_id)
    assert machine.status is ProviderMachineStatus.FAILED
    assert machine.status_message is not None and "offline" in machine.status_message
    provider.destroy_machine(machine_id)


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
    assert {request["operation"] for request in with_body} == {"search", "create", "manage", "reboot"}
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


def test_429_forever_is_throttled(
    provider: VastAiProvider, marketplace: LocalMarketplace, sleeps: list[float]
) -> None:
    offer = cheapest(provider)
    marketplace.fail_next_creates(
        10, 429, {"detail": "API requests too frequent endpoint threshold=4.0"}, retry_after=2
    )
    with pytest.raises(ProviderThrottled) as raised:
        rent(provider, offer)
    assert raised.value.retry_after_seconds == 2.0
    assert "API requests too frequent" in raised.value.message
    assert sleeps == [2.0, 2.0, 2.0]
    assert len(creates_seen(marketplace)) == 4
    assert marketplace.machines() == []


def test_500_is_unavailable_after_retries(
    provider: VastAiProvider, marketplace: LocalMarketplace, sleeps: list[float]
) -> None:
    offer = cheapest(provider)
    marketplace.fail_next_creates(
        10, 500, {"success": False, "error": "server_error", "msg": "database is busy"}
    )
    with pytest.raises(ProviderUnavailable) as raised:
        rent(provider, offer)
    assert "database is busy" in raised.value.message
    assert raised.value.status_code == 500
    assert sleeps == [0.5, 1.0, 2.0]
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


def test_machines_are_found_by_their_label(provider: VastAiProvider) -> None:
    first = rent(provider, cheapest(provider, ["RTX 4090"]), label="inst_label_a")
    other = rent(provider, cheapest(provider, ["RTX 4090"]), label="inst_label_b")
    assert provider.machine_ids_labelled("inst_label_a") == [first]
    assert provider.machine_ids_labelled("inst_label_b") == [other]
    provider.destroy_machine(first)
    assert provider.machine_ids_labelled("inst_label_a") == []
