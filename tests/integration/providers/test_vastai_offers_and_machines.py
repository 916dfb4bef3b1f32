"""The Vast.ai adapter finds offers and rents, runs and gives back machines on the local marketplace."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from dumont_core.providers.catalog import region_for_geolocation
from dumont_core.providers.models import (
    OfferPriceChanged,
    OfferQuery,
    ProviderMachineNotFound,
    ProviderMachineStatus,
)
from dumont_core.providers.vastai import VastAiProvider
from local_stack.marketplace import LocalMarketplace
from local_stack.marketplace.offers import HOURS_PER_MONTH
from tests.integration.providers.conftest import (
    ALL_GPUS,
    DOCUMENTATION_NET,
    all_prices,
    cheapest,
    creates_seen,
    listed_ids,
    rent,
    wait_for,
)

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


def test_a_stopped_machine_is_billed_for_its_disk_alone_until_it_runs_again(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    offer = cheapest(provider, ["RTX 4090"])
    listed = next(each for each in marketplace.offers() if each["id"] == offer.offer_id)
    machine_id = rent(provider, offer)
    wait_for(provider, machine_id, ProviderMachineStatus.RUNNING)

    provider.stop_machine(machine_id)
    stopped, _ = wait_for(provider, machine_id, ProviderMachineStatus.STOPPED)

    # Its 50 GB at the host's storage price per GB-month, as Vast bills a stopped instance's storage.
    assert stopped.price_per_hour == pytest.approx(50 * listed["storage_cost"] / HOURS_PER_MONTH, abs=1e-4)
    provider.start_machine(machine_id)
    running, _ = wait_for(provider, machine_id, ProviderMachineStatus.RUNNING)
    assert running.price_per_hour == offer.price_per_hour
    provider.destroy_machine(machine_id)


def test_a_spot_rental_is_billed_at_the_bid(provider: VastAiProvider, marketplace: LocalMarketplace) -> None:
    offer = cheapest(provider)
    assert offer.min_bid_per_hour is not None
    bid = round(offer.min_bid_per_hour + 0.01, 4)
    machine_id = rent(provider, offer, bid_per_hour=bid)
    [listed] = [listed for listed in marketplace.offers() if listed["id"] == offer.offer_id]
    disk = bid + listed["storage_cost"] * 50 / 720
    assert provider.get_machine(machine_id).price_per_hour == pytest.approx(disk, abs=1e-4), (
        "the bid, and the disk at the host's storage price, as Vast bills it"
    )
    [create] = creates_seen(marketplace)
    assert isinstance(create["body"], dict) and create["body"]["price"] == bid
    provider.destroy_machine(machine_id)


def test_a_bid_under_the_floor_means_the_price_moved(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    offer = cheapest(provider)
    assert offer.min_bid_per_hour is not None
    # An OfferUnavailable, so the rent goes on with the next offer instead of failing the instance.
    with pytest.raises(OfferPriceChanged) as raised:
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


def test_machines_are_found_by_their_label(provider: VastAiProvider) -> None:
    first = rent(provider, cheapest(provider, ["RTX 4090"]), label="inst_label_a")
    other = rent(provider, cheapest(provider, ["RTX 4090"]), label="inst_label_b")
    assert provider.machine_ids_labelled("inst_label_a") == [first]
    assert provider.machine_ids_labelled("inst_label_b") == [other]
    provider.destroy_machine(first)
    assert provider.machine_ids_labelled("inst_label_a") == []


def test_listing_machines_tells_each_ones_label_price_and_rental_time(provider: VastAiProvider) -> None:
    before = datetime.now(UTC)
    ours = rent(provider, cheapest(provider, ["RTX 4090"]), label="dumont:team_a:inst_a")
    unlabelled = rent(provider, cheapest(provider, ["RTX 4090"]), label="")

    listed = {machine.provider_instance_id: machine for machine in provider.list_machines()}

    assert {ours, unlabelled} <= set(listed)
    assert listed[ours].label == "dumont:team_a:inst_a"
    assert listed[unlabelled].label is None
    started_at = listed[ours].started_at
    assert started_at is not None and before - timedelta(seconds=5) <= started_at <= datetime.now(UTC)
    assert listed[ours].price_per_hour is not None and listed[ours].price_per_hour > 0


def test_a_four_gpu_request_in_one_country_is_served_beyond_the_cheapest_offers(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    listed = sorted(
        (
            offer
            for offer in marketplace.offers()
            if offer["gpu_name"] == "RTX 4090" and offer["reliability"] >= 0.9
        ),
        key=lambda offer: offer["dph_total"],
    )
    abroad = [
        offer for offer in listed if offer["num_gpus"] >= 4 and not offer["geolocation"].endswith(", US")
    ]
    assert abroad, "the seed has a host of four or more RTX 4090s outside the US"
    wanted = abroad[0]
    region = region_for_geolocation(wanted["geolocation"])
    beyond = listed.index(wanted)
    assert beyond >= 3, "and cheaper RTX 4090s elsewhere, or with fewer GPUs"

    query = OfferQuery(
        gpu_names=("RTX 4090",), min_reliability=0.9, min_disk_gb=0, limit=beyond, num_gpus=4, region=region
    )
    offers = provider.search_offers(query)
    assert offers and offers[0].offer_id == wanted["id"]
    assert all(offer.num_gpus >= 4 and offer.region == region for offer in offers)
