"""Faults injected at random, for drills and the bench: the marketplace answering 5xx a given fraction of
the time, the same calls for the same seed, which the Vast.ai adapter retries like any 5xx."""

from __future__ import annotations

import httpx
import pytest

from dumont_core.providers.models import ProviderUnavailable
from dumont_core.providers.vastai import VastAiProvider
from local_stack.faults import RandomFault
from local_stack.machine_agents import HEARTBEAT_PATH, MachineNetwork
from local_stack.marketplace import LocalMarketplace

CALLS = 400


def statuses(marketplace: LocalMarketplace, calls: int = CALLS) -> list[int]:
    headers = {"Authorization": f"Bearer {marketplace.api_key}"}
    with httpx.Client(base_url=marketplace.url, headers=headers) as client:
        return [client.get("/api/v0/instances/").status_code for _ in range(calls)]


def test_the_marketplace_answers_5xx_the_fraction_of_the_time_it_is_told_the_same_way_for_a_seed(
    marketplace: LocalMarketplace,
) -> None:
    answered = httpx.post(
        f"{marketplace.url}/_sim/faults", json={"provider_error_rate": 0.1, "seed": 7}
    ).json()
    assert answered["provider_error_rate"] == 0.1

    first = statuses(marketplace)
    marketplace.set_provider_error_rate(0.1, seed=7)
    again = statuses(marketplace)

    failed = [status for status in first if status != 200]
    assert 0.05 * CALLS <= len(failed) <= 0.15 * CALLS
    assert set(failed) <= {500, 502, 503}
    assert again == first, "one seed, the same answers"
    marketplace.reset()
    assert set(statuses(marketplace, 50)) == {200}, "a reset clears the faults"


@pytest.mark.parametrize(
    "body",
    [
        {"provider_error_rate": 1.5},
        {"provider_error_rate": "0.1"},
        {"seed": "x", "provider_error_rate": 0.1},
        {"heartbeat_drop_rate": 0.1},  # no machines run agents on a bare marketplace
    ],
)
def test_a_fault_that_cannot_be_injected_is_refused(
    marketplace: LocalMarketplace, body: dict[str, object]
) -> None:
    refused = httpx.post(f"{marketplace.url}/_sim/faults", json=body)

    assert refused.status_code == 400
    assert marketplace.provider_error_rate == 0.0


def test_the_adapter_retries_the_5xx_and_gives_up_only_when_every_attempt_fails(
    marketplace: LocalMarketplace, provider: VastAiProvider, sleeps: list[float]
) -> None:
    marketplace.set_provider_error_rate(0.1, seed=3)
    assert [provider.list_machines() for _ in range(50)] == [[]] * 50
    assert sleeps, "some answers were 5xx and tried again"

    marketplace.set_provider_error_rate(1.0)
    with pytest.raises(ProviderUnavailable):
        provider.list_machines()


def test_a_machines_network_loses_the_fraction_of_heartbeats_it_is_told_and_nothing_else() -> None:
    network = MachineNetwork(RandomFault(0.1, seed=5))

    heartbeats = [goes_out(network, f"http://api.test{HEARTBEAT_PATH}") for _ in range(CALLS)]
    others = [goes_out(network, "http://api.test/api/agent/logs") for _ in range(CALLS)]

    assert 0.05 * CALLS <= heartbeats.count(False) <= 0.15 * CALLS
    assert all(others), "only heartbeats are lost"


def goes_out(network: MachineNetwork, url: str) -> bool:
    try:
        network.let_through(httpx.Request("POST", url))
    except httpx.ConnectError:
        return False
    return True
