"""The real Vast.ai adapter against the local marketplace, over HTTP on an ephemeral port.

One marketplace serves every test here, emptied before and after each.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from dumont_core.providers.models import (
    MachineRequest,
    Offer,
    OfferQuery,
    ProviderMachine,
    ProviderMachineStatus,
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


@pytest.fixture(scope="package")
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
            disk_gb=50,
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
