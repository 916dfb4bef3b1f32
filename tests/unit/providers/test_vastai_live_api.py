"""The Vast.ai adapter speaks the API Vast serves today, as its CLI does: the v1 instance list, searches
whose filters Vast applies, SSH through the proxy where a host has no open port, Jupyter started by Vast,
a moved minimum bid and a host Vast no longer hears from."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from dumont_core.providers.models import (
    MachineRequest,
    OfferPriceChanged,
    OfferQuery,
    OfferUnavailable,
    ProviderMachineStatus,
)
from tests.unit.providers.test_vastai_recorded_errors import Replay, provider_for, recording


def _instance(instance_id: int, label: str) -> dict[str, Any]:
    return {"id": instance_id, "label": label, "actual_status": "running", "intended_status": "running"}


class PagedInstances:
    """Vast's `GET /api/v1/instances/`: 25 a page and a cursor, and nothing at the deprecated v0 list."""

    def __init__(self, instances: list[dict[str, Any]]) -> None:
        self.instances = instances
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != "/api/v1/instances/":
            return httpx.Response(404, json={"success": False, "error": "not_found", "msg": "gone"})
        query = {name: values[0] for name, values in parse_qs(request.url.query.decode()).items()}
        wanted = json.loads(query.get("select_filters", "{}")).get("label", {}).get("eq")
        matching = [item for item in self.instances if wanted is None or item["label"] == wanted]
        start = int(query.get("after_token", "0"))
        page = matching[start : start + 25]
        more = start + 25 < len(matching)
        return httpx.Response(
            200,
            json={"instances": page, "next_token": str(start + 25) if more else None},
        )


def test_every_machine_is_listed_from_the_paged_v1_list() -> None:
    vast = PagedInstances([_instance(1000 + index, f"dumont:t:{index % 3}") for index in range(60)])
    machines = provider_for(vast).list_machines()
    assert [machine.provider_instance_id for machine in machines] == [str(1000 + i) for i in range(60)]
    assert [request.url.path for request in vast.requests] == ["/api/v1/instances/"] * 3


def test_machines_of_one_label_are_asked_for_by_label() -> None:
    vast = PagedInstances([_instance(1000 + index, f"dumont:t:{index % 3}") for index in range(60)])
    ids = provider_for(vast).machine_ids_labelled("dumont:t:1")
    assert ids == [str(1000 + index) for index in range(60) if index % 3 == 1]
    filters = [parse_qs(request.url.query.decode())["select_filters"][0] for request in vast.requests]
    assert {json.loads(text)["label"]["eq"] for text in filters} == {"dumont:t:1"}


def test_the_search_asks_vast_for_gpu_count_countries_ports_vetting_and_disk() -> None:
    sent: list[dict[str, Any]] = []

    def vast(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"offers": []})

    query = OfferQuery(
        gpu_names=("RTX 4090",),
        min_reliability=0.9,
        min_disk_gb=100,
        limit=50,
        num_gpus=4,
        region="eu-central",
        min_direct_ports=2,
    )
    provider_for(vast).search_offers(query)
    [body] = sent
    assert body["num_gpus"] == {"gte": 4}
    assert set(body["geolocation"]["in"]) >= {"DE", "PL", "CH"}
    assert body["direct_port_count"] == {"gte": 2}
    assert body["verified"] == {"eq": True}
    assert body["allocated_storage"] == 100
    # Vast's documented filter is `reliability`; the CLI sends it so too.
    assert body["reliability"] == {"gte": 0.9}


def test_a_us_region_asks_for_the_country_and_keeps_its_own_states() -> None:
    def vast(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["geolocation"] == {"in": ["US"]}
        offers = [
            {"id": 1, "dph_total": 0.3, "gpu_name": "RTX 4090", "num_gpus": 1, "geolocation": "Texas, US"},
            {"id": 2, "dph_total": 0.4, "gpu_name": "RTX 4090", "num_gpus": 1, "geolocation": "Oregon, US"},
        ]
        return httpx.Response(200, json={"offers": offers})

    query = OfferQuery(gpu_names=("RTX 4090",), min_reliability=0, min_disk_gb=1, limit=5, region="us-west")
    assert [offer.offer_id for offer in provider_for(vast).search_offers(query)] == [2]


def _running(**changes: Any) -> dict[str, Any]:
    record = recording("show_instance_running")
    record["response"]["body"]["instances"].update(changes)
    return record


def test_a_host_without_open_ports_is_reached_through_vasts_proxy() -> None:
    record = _running(ports={}, ssh_host="ssh5.vast.ai", ssh_port=26512, image_runtype="ssh_direc ssh_proxy")
    machine = provider_for(Replay(record)).get_machine("1234567")
    assert (machine.ssh_host, machine.ssh_port) == ("ssh5.vast.ai", 26512)


def test_the_proxy_port_of_a_jupyter_runtype_is_the_next_one_as_the_cli_says() -> None:
    record = _running(
        ports={}, ssh_host="ssh5.vast.ai", ssh_port=26512, image_runtype="jupyter_direc ssh_direc ssh_proxy"
    )
    machine = provider_for(Replay(record)).get_machine("1234567")
    assert (machine.ssh_host, machine.ssh_port) == ("ssh5.vast.ai", 26513)


def test_jupyter_started_by_vast_is_at_its_port_with_its_token() -> None:
    record = _running(
        ports={
            "22/tcp": [{"HostIp": "0.0.0.0", "HostPort": "41022"}],
            "8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "41080"}],
        },
        jupyter_token="f00d",
        image_runtype="jupyter_direc ssh_direc ssh_proxy",
    )
    machine = provider_for(Replay(record)).get_machine("1234567")
    assert machine.jupyter_port == 41080
    assert machine.jupyter_url == "https://203.0.113.25:41080/?token=f00d"
    assert (machine.ssh_host, machine.ssh_port) == (None, 41022)


def test_a_bid_under_a_moved_minimum_is_an_offer_to_pass_over() -> None:
    def vast(request: httpx.Request) -> httpx.Response:
        body = {"success": False, "error": "invalid_price", "msg": "Bid is below the minimum", "ask_id": 7}
        return httpx.Response(400, json=body)

    request = MachineRequest(offer_id=7, image="img", disk_gb=10, label="l", bid_per_hour=0.1)
    with pytest.raises(OfferPriceChanged) as raised:
        provider_for(vast).create_machine(request)
    assert isinstance(raised.value, OfferUnavailable)


@pytest.mark.parametrize(
    ("actual", "intended", "expected"),
    [
        ("unknown", "running", ProviderMachineStatus.FAILED),
        ("frozen", "frozen", ProviderMachineStatus.STOPPED),
        ("stopped", "running", ProviderMachineStatus.FAILED),
        ("rebooting", "running", ProviderMachineStatus.PROVISIONING),
    ],
)
def test_vasts_other_states(actual: str, intended: str, expected: ProviderMachineStatus) -> None:
    machine = provider_for(Replay(_running(actual_status=actual, intended_status=intended))).get_machine(
        "1234567"
    )
    assert machine.status is expected
    if actual == "unknown":
        assert machine.status_message is not None and "has not heard from the host" in machine.status_message
