"""The provider contract, held by the Vast.ai adapter against any Vast.ai API: the local marketplace
always, and the real Vast.ai when `VAST_API_KEY` is set.

Against the real Vast.ai everything is read-only (searches, the instance list, a missing instance)
unless `VAST_CONTRACT_RENT=1` and a price cap `VAST_CONTRACT_MAX_PRICE` (USD an hour) are both set:
then one on-demand machine at or under the cap is rented, watched until it runs, and destroyed, whatever
happens in between. `VAST_API_URL` points elsewhere than https://console.vast.ai.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from dumont_core.platform.settings import DEFAULT_VAST_API_URL
from dumont_core.providers.catalog import region_for_geolocation
from dumont_core.providers.models import (
    MachineRequest,
    OfferQuery,
    ProviderMachineNotFound,
    ProviderMachineStatus,
)
from dumont_core.providers.vastai import VastAiProvider
from local_stack.marketplace import LocalMarketplace
from tests.integration.providers.conftest import CLOCK

GPUS = ("RTX 4090", "RTX 3090", "RTX A6000", "A100 SXM4", "A100 PCIE", "H100 SXM", "L40S")
CONTRACT_LABEL = "dumont-contract-test"


@dataclass
class Target:
    name: str
    provider: VastAiProvider
    pass_time: Callable[[float], None]
    """Let this many seconds go by: the local market's clock moves; the real one is waited for."""
    max_price: float | None
    """What a rental may cost an hour; None when renting is not allowed."""
    boot_seconds: float


# Read when the tests are collected, before any runs: a local stack started by an earlier test points
# these variables at its own marketplace for the rest of the process.
_AS_THE_RUN_BEGAN = {
    name: os.environ.get(name)
    for name in ("VAST_API_KEY", "VAST_API_URL", "VAST_CONTRACT_MAX_PRICE", "VAST_CONTRACT_RENT")
}


def _real_target() -> Target | None:
    key = _AS_THE_RUN_BEGAN["VAST_API_KEY"]
    if not key:
        return None
    cap = _AS_THE_RUN_BEGAN["VAST_CONTRACT_MAX_PRICE"]
    renting = _AS_THE_RUN_BEGAN["VAST_CONTRACT_RENT"] == "1" and cap is not None
    url = _AS_THE_RUN_BEGAN["VAST_API_URL"] or DEFAULT_VAST_API_URL
    return Target(
        "vast.ai", VastAiProvider(url, key), time.sleep, float(cap) if renting and cap else None, 900
    )


@pytest.fixture(params=["local", "vast.ai"])
def target(request: pytest.FixtureRequest, marketplace: LocalMarketplace) -> Iterator[Target]:
    if request.param == "local":
        local = VastAiProvider(marketplace.url, marketplace.api_key, sleep=lambda _: None)

        def pass_time(seconds: float) -> None:
            CLOCK.now += seconds

        yield Target("local", local, pass_time, max_price=10.0, boot_seconds=5)
        local.close()
        return
    real = _real_target()
    if real is None:
        pytest.skip("set VAST_API_KEY to hold the real Vast.ai to the contract")
    yield real
    real.provider.close()


def test_a_search_answers_matching_offers_cheapest_first(target: Target) -> None:
    query = OfferQuery(gpu_names=GPUS, min_reliability=0.9, min_disk_gb=50, limit=20)
    offers = target.provider.search_offers(query)
    assert offers, f"{target.name} offers none of {GPUS}"
    assert [offer.price_per_hour for offer in offers] == sorted(offer.price_per_hour for offer in offers)
    for offer in offers:
        assert offer.gpu_name in GPUS and offer.reliability >= 0.9 and offer.disk_space_gb >= 50
        assert offer.min_bid_per_hour is None or offer.min_bid_per_hour <= offer.price_per_hour


def test_a_search_for_several_gpus_in_one_region_answers_only_those(target: Target) -> None:
    query = OfferQuery(
        gpu_names=GPUS, min_reliability=0.8, min_disk_gb=20, limit=10, num_gpus=4, region="eu-central"
    )
    offers = target.provider.search_offers(query)
    if target.name == "local":
        assert offers, "the seeded market has 4-GPU hosts in Germany"
    for offer in offers:
        assert offer.num_gpus >= 4 and region_for_geolocation(offer.geolocation) == "eu-central"


def test_the_instance_list_and_a_missing_instance(target: Target) -> None:
    machines = target.provider.list_machines()
    assert all(machine.provider_instance_id.isdigit() for machine in machines)
    assert target.provider.machine_ids_labelled("dumont-contract-no-such-label") == []
    with pytest.raises(ProviderMachineNotFound):
        target.provider.get_machine("1")


def test_a_rented_machine_runs_and_is_destroyed(target: Target) -> None:
    if target.max_price is None:
        pytest.skip("renting on the real Vast.ai needs VAST_CONTRACT_RENT=1 and VAST_CONTRACT_MAX_PRICE")
    query = OfferQuery(gpu_names=GPUS, min_reliability=0.95, min_disk_gb=20, limit=5, min_direct_ports=2)
    affordable = [
        offer for offer in target.provider.search_offers(query) if offer.price_per_hour <= target.max_price
    ]
    if not affordable:
        pytest.skip(f"no offer at or under {target.max_price} $/h on {target.name} now")
    request = MachineRequest(
        offer_id=affordable[0].offer_id, image="ubuntu:22.04", disk_gb=20, label=CONTRACT_LABEL
    )
    machine_id = target.provider.create_machine(request)
    try:
        assert machine_id in target.provider.machine_ids_labelled(CONTRACT_LABEL)
        machine = target.provider.get_machine(machine_id)
        deadline = time.monotonic() + target.boot_seconds * (60 if target.name == "local" else 1)
        while machine.status is ProviderMachineStatus.PROVISIONING and time.monotonic() < deadline:
            target.pass_time(0.2 if target.name == "local" else 10)
            machine = target.provider.get_machine(machine_id)
        assert machine.status is ProviderMachineStatus.RUNNING, machine.status_message
        assert machine.ip_address and machine.ssh_port
        assert machine.price_per_hour is not None and machine.price_per_hour <= target.max_price * 1.1
    finally:
        with contextlib.suppress(ProviderMachineNotFound):
            target.provider.destroy_machine(machine_id)
    assert machine_id not in target.provider.machine_ids_labelled(CONTRACT_LABEL)
