"""The local marketplace answers what Vast.ai answers where the CLI and the adapter look: the paged v1
instance list, a missing instance, its refusals, and offers with Vast's fields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dumont_core.providers.models import MachineRequest, OfferQuery, ProviderMachineStatus
from dumont_core.providers.vastai import VastAiProvider
from local_stack.marketplace import LocalMarketplace
from tests.integration.providers.conftest import wait_for


@pytest.fixture
def vast(marketplace: LocalMarketplace) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {marketplace.api_key}"}
    with httpx.Client(base_url=marketplace.url, headers=headers) as client:
        yield client


def _rent_many(provider: VastAiProvider, count: int) -> list[str]:
    query = OfferQuery(
        gpu_names=("RTX 4090", "RTX 3090", "A100 SXM4", "L40S"),
        min_reliability=0,
        min_disk_gb=10,
        limit=count,
    )
    offers = provider.search_offers(query)
    assert len(offers) == count
    return [
        provider.create_machine(
            MachineRequest(offer_id=offer.offer_id, image="ubuntu", disk_gb=10, label=f"batch-{index % 2}")
        )
        for index, offer in enumerate(offers)
    ]


def test_the_v1_list_comes_in_pages_of_25_with_a_cursor(provider: VastAiProvider, vast: httpx.Client) -> None:
    rented = _rent_many(provider, 30)
    first = vast.get("/api/v1/instances/", params={"limit": "50"}).json()
    assert (first["instances_found"], first["total_instances"]) == (25, 30)
    assert first["label_counts"] == {"batch-0": 15, "batch-1": 15}
    second = vast.get("/api/v1/instances/", params={"after_token": first["next_token"]}).json()
    assert second["next_token"] is None
    ids = [item["id"] for item in first["instances"] + second["instances"]]
    assert ids == sorted(int(machine_id) for machine_id in rented)

    newest_first = vast.get(
        "/api/v1/instances/",
        params={
            "order_by": '[{"col": "id", "dir": "desc"}]',
            "select_filters": '{"label": {"eq": "batch-1"}}',
        },
    ).json()
    labelled = [item["id"] for item in newest_first["instances"]]
    assert labelled == sorted(labelled, reverse=True) and len(labelled) == 15
    assert sorted(provider.machine_ids_labelled("batch-1"), key=int) == [str(i) for i in sorted(labelled)]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"select_filters": '{"dph_total": {"lte": 1}}'}, "invalid_request"),
        ({"order_by": '[{"col": "num_gpus", "dir": "asc"}]'}, "invalid_request"),
        ({"after_token": "not-a-token"}, "invalid_token"),
        ({"select_filters": "{"}, "invalid_request"),
    ],
)
def test_the_v1_list_refuses_as_vast_does(vast: httpx.Client, params: dict[str, str], error: str) -> None:
    answer = vast.get("/api/v1/instances/", params=params)
    assert answer.status_code == 400 and answer.json()["error"] == error


def test_a_missing_instance_and_a_wrong_key(vast: httpx.Client, marketplace: LocalMarketplace) -> None:
    assert vast.get("/api/v0/instances/123/").json() == {"instances": None}
    destroyed = vast.delete("/api/v0/instances/123/")
    assert destroyed.status_code == 404 and destroyed.json()["error"] == "not_found"
    refused = httpx.get(f"{marketplace.url}/api/v0/users/current/", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401
    assert refused.json() == {"success": False, "error": "auth_error", "msg": "Invalid user key"}


def test_offers_carry_vasts_fields_and_units(vast: httpx.Client) -> None:
    body: dict[str, Any] = {"gpu_name": {"eq": "RTX_4090"}, "limit": 5, "allocated_storage": 100}
    [offer, *_] = vast.post("/api/v0/bundles/", json=body).json()["offers"]
    assert len(offer) >= 95, "about a hundred, as in Vast's document"
    for field in (
        "score",
        "verification",
        "dlperf",
        "dlperf_per_dphtotal",
        "cpu_cores_effective",
        "storage_cost",
        "duration",
        "driver_version",
        "direct_port_count",
        "inet_down_cost",
    ):
        assert field in offer, field
    assert offer["gpu_name"] == "RTX 4090" and offer["gpu_ram"] > 16_000, "GPU memory in MB"
    assert offer["dph_total"] == pytest.approx(
        offer["dph_base"] + offer["storage_cost"] * 100 / 720, abs=1e-3
    )


def test_driver_versions_compare_as_versions(vast: httpx.Client) -> None:
    body = {"driver_version": {"gte": 550_000_000}, "limit": 1000}
    offers = vast.post("/api/v0/bundles/", json=body).json()["offers"]
    assert offers and {offer["driver_version"] for offer in offers} <= {"550.127.05", "560.35.03"}


def test_a_host_without_open_ports_is_reached_through_the_proxy(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    closed = next(
        offer for offer in marketplace.offers() if offer["direct_port_count"] == 0 and not offer["rented"]
    )
    request = MachineRequest(offer_id=closed["id"], image="ubuntu", disk_gb=10, label="closed-host")
    machine_id = provider.create_machine(request)
    machine, _ = wait_for(provider, machine_id, ProviderMachineStatus.RUNNING)
    [shown] = [item for item in marketplace.machines() if item["id"] == int(machine_id)]
    assert shown["ports"] == {}
    assert (machine.ssh_host, machine.ssh_port) == (shown["ssh_host"], shown["ssh_port"] + 1)
    assert machine.jupyter_url is None, "Jupyter has no direct address behind the proxy"


def test_a_host_vast_no_longer_hears_from_has_failed(
    provider: VastAiProvider, marketplace: LocalMarketplace
) -> None:
    query = OfferQuery(
        gpu_names=("RTX 4090",), min_reliability=0.9, min_disk_gb=10, limit=1, min_direct_ports=2
    )
    [offer] = provider.search_offers(query)
    machine_id = provider.create_machine(
        MachineRequest(offer_id=offer.offer_id, image="ubuntu", disk_gb=10, label="silent-host")
    )
    running, _ = wait_for(provider, machine_id, ProviderMachineStatus.RUNNING)
    assert running.jupyter_url is not None and running.jupyter_url.startswith(
        f"https://{running.ip_address}:"
    )
    marketplace.show_status(int(machine_id), "unknown")
    machine = provider.get_machine(machine_id)
    assert machine.status is ProviderMachineStatus.FAILED
    assert machine.status_message is not None and "has not heard from the host" in machine.status_message
