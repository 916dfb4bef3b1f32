"""Spot GPUs are lost as on the real marketplace, and the Vast.ai adapter reads each loss as the real
API shows it: outbid, host offline, host maintenance, and a network partition that the provider does
not see at all."""

from __future__ import annotations

import httpx
import pytest

from dumont_core.providers.models import ProviderMachineStatus
from dumont_core.providers.vastai import VastAiProvider
from local_stack.marketplace import LocalMarketplace
from tests.integration.providers.conftest import CLOCK, cheapest, rent, wait_for


def running_machine(provider: VastAiProvider, *, bid_over_floor: float | None = None) -> tuple[str, int]:
    """A machine rented (at a bid this much over the host's floor, or on demand) and running; with its
    offer's id."""
    offer = cheapest(provider)
    bid = None
    if bid_over_floor is not None:
        assert offer.min_bid_per_hour is not None
        bid = round(offer.min_bid_per_hour + bid_over_floor, 4)
    machine_id = rent(provider, offer, bid_per_hour=bid)
    wait_for(provider, machine_id, ProviderMachineStatus.RUNNING)
    return machine_id, offer.offer_id


@pytest.mark.parametrize(
    ("kind", "said"),
    [("outbid", "outbid"), ("host_offline", "offline"), ("maintenance", "maintenance")],
)
def test_an_interrupted_machine_is_a_failed_one_saying_why(
    provider: VastAiProvider, marketplace: LocalMarketplace, kind: str, said: str
) -> None:
    machine_id, _ = running_machine(provider, bid_over_floor=0.01)

    marketplace.interrupt(int(machine_id), kind)

    machine = provider.get_machine(machine_id)
    assert machine.status is ProviderMachineStatus.FAILED
    assert machine.status_message is not None and said in machine.status_message
    assert machine.ssh_port is None, "nothing is reachable on it any more"


def test_a_higher_bid_takes_an_interruptible_machine_and_a_lower_one_does_not(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    machine_id, offer_id = running_machine(provider, bid_over_floor=0.05)
    price = provider.get_machine(machine_id).price_per_hour
    assert price is not None

    assert marketplace.bid(offer_id, price - 0.01) is None
    assert provider.get_machine(machine_id).status is ProviderMachineStatus.RUNNING

    assert marketplace.bid(offer_id, price + 0.01) == int(machine_id)
    assert provider.get_machine(machine_id).status is ProviderMachineStatus.FAILED


def test_a_machine_rented_on_demand_cannot_be_outbid(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    machine_id, offer_id = running_machine(provider)

    assert marketplace.bid(offer_id, 100.0) is None
    with pytest.raises(ValueError, match="on demand"):
        marketplace.interrupt(int(machine_id), "outbid")
    assert provider.get_machine(machine_id).status is ProviderMachineStatus.RUNNING


def test_a_partitioned_machine_still_runs_as_far_as_the_provider_knows(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    machine_id, _ = running_machine(provider)

    marketplace.interrupt(int(machine_id), "partition")

    assert provider.get_machine(machine_id).status is ProviderMachineStatus.RUNNING
    assert marketplace.partitioned_machines() == {int(machine_id)}


def test_machines_are_interrupted_at_random_at_the_rate_asked_for(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    machines = [running_machine(provider, bid_over_floor=0.01)[0] for _ in range(3)]

    marketplace.set_interruption_rate(0)
    CLOCK.now += 10 * 3600
    assert {provider.get_machine(machine).status for machine in machines} == {ProviderMachineStatus.RUNNING}

    marketplace.set_interruption_rate(60)  # once a minute on average
    CLOCK.now += 3600
    lost = [
        machine
        for machine in machines
        if provider.get_machine(machine).status is ProviderMachineStatus.FAILED
        or int(machine) in marketplace.partitioned_machines()
    ]
    assert lost == machines, "in an hour at once a minute, every machine is interrupted"


def test_interruptions_are_asked_for_over_http_as_with_curl(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    machine_id, offer_id = running_machine(provider, bid_over_floor=0.01)

    with httpx.Client(base_url=marketplace.url) as sim:
        refused = sim.post(f"/_sim/machines/{machine_id}/interrupt", json={"kind": "meteor"})
        assert refused.status_code == 400
        assert sim.post("/_sim/interruptions", json={"per_machine_hour": -1}).status_code == 400
        outbid = sim.post(f"/_sim/offers/{offer_id}/bid", json={"price": 50})
        assert outbid.json() == {"success": True, "outbid": int(machine_id)}

    assert provider.get_machine(machine_id).status is ProviderMachineStatus.FAILED
