"""The Vast.ai adapter against answers shaped as Vast.ai sends them (kept in tests/fixtures/vastai)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import pytest

from dumont_core.providers.models import (
    MachineRequest,
    OfferQuery,
    OfferUnavailable,
    ProviderAuthenticationFailed,
    ProviderError,
    ProviderMachineNotFound,
    ProviderMachineStatus,
    ProviderRequestRejected,
    ProviderThrottled,
    ProviderUnavailable,
)
from dumont_core.providers.vastai import VastAiProvider

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vastai"
API_KEY = "vast-test-key-0123456789abcdef"
E = TypeVar("E", bound=ProviderError)


def recording(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def replayed(record: dict[str, Any]) -> httpx.Response:
    answer = record["response"]
    content = json.dumps(answer["body"]).encode() if "body" in answer else answer["text"].encode()
    return httpx.Response(answer["status"], headers=answer["headers"], content=content)


class Replay:
    """A MockTransport that answers every request with the same recording and remembers the requests."""

    def __init__(self, *records: dict[str, Any]) -> None:
        self.records = list(records)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        record = self.records[min(len(self.requests), len(self.records)) - 1]
        expected = record["request"]
        assert (request.method, request.url.path) == (expected["method"], expected["path"])
        return replayed(record)


def provider_for(handler: Any, sleeps: list[float] | None = None) -> VastAiProvider:
    return VastAiProvider(
        "https://vast.example",
        API_KEY,
        transport=httpx.MockTransport(handler),
        sleep=(sleeps if sleeps is not None else []).append,
    )


def rent(provider: VastAiProvider, bid_per_hour: float | None = None) -> str:
    return provider.create_machine(
        MachineRequest(
            offer_id=123,
            image="pytorch/pytorch:2.3.0-cuda12.1-cudnn8-devel",
            disk_gb=64,
            label="dumont-m-01",
            onstart_script="touch /root/ready",
            bid_per_hour=bid_per_hour,
        )
    )


def show(provider: VastAiProvider) -> object:
    return provider.get_machine("1234567")


def search(provider: VastAiProvider) -> object:
    return provider.search_offers(
        OfferQuery(gpu_names=["RTX 4090"], min_reliability=0.9, min_disk_gb=100, limit=20)
    )


@dataclass
class Failure(Generic[E]):
    error: E
    requests: list[httpx.Request]
    sleeps: list[float]


def failure_of(
    raised_as: type[E], call: Callable[[VastAiProvider], object], *records: dict[str, Any]
) -> Failure[E]:
    """What `call` raised against the recordings replayed in turn, the requests it sent and its waits."""
    replay = Replay(*records)
    sleeps: list[float] = []
    with pytest.raises(raised_as) as raised:
        call(provider_for(replay, sleeps))
    return Failure(raised.value, replay.requests, sleeps)


REFUSED_AT_ONCE: list[tuple[Callable[[VastAiProvider], object], str, type[ProviderError], str]] = [
    (rent, "create_404_no_such_ask", OfferUnavailable, "Instance type by id 123 is not available."),
    (
        rent,
        "create_404_no_such_ask_invalid_args",
        OfferUnavailable,
        "no_such_ask Instance type by id 123 is not available.",
    ),
    (rent, "create_410_no_longer_available", OfferUnavailable, "Instance type 123 is no longer available."),
    (show, "unauthorized_401", ProviderAuthenticationFailed, "Invalid user key"),
    (
        show,
        "unauthorized_401_detail",
        ProviderAuthenticationFailed,
        "Authentication credentials were not provided.",
    ),
]
"""Recorded answers that retrying cannot change: how each is asked for, and what it raises quoting."""


@pytest.mark.parametrize(
    ("call", "fixture", "raised_as", "quoted"),
    REFUSED_AT_ONCE,
    ids=[fixture for _, fixture, _, _ in REFUSED_AT_ONCE],
)
def test_a_taken_offer_or_a_refused_key_is_raised_at_once_quoting_vast_but_not_the_key(
    call: Callable[[VastAiProvider], object], fixture: str, raised_as: type[ProviderError], quoted: str
) -> None:
    failure = failure_of(raised_as, call, recording(fixture))
    assert quoted in failure.error.message
    assert failure.error.status_code == recording(fixture)["response"]["status"]
    assert API_KEY not in str(failure.error)
    assert len(failure.requests) == 1, "retrying a taken offer or a wrong key only wastes the rate limit"
    assert failure.sleeps == []


def test_429_without_retry_after_backs_off_exponentially_then_throttles() -> None:
    failure = failure_of(ProviderThrottled, rent, recording("rate_limited_429"))
    assert len(failure.requests) == 4
    assert failure.sleeps == [1.0, 2.0, 4.0]
    assert failure.error.retry_after_seconds is None
    assert "API requests too frequent endpoint threshold=4.0" in failure.error.message
    assert failure.error.code == "ProviderThrottled" and failure.error.transient


def test_429_with_retry_after_waits_as_told() -> None:
    failure = failure_of(ProviderThrottled, rent, recording("rate_limited_429_retry_after"))
    assert failure.sleeps == [2.0, 2.0, 2.0]
    assert failure.error.retry_after_seconds == 2.0


def test_429_then_success_returns_the_new_machine() -> None:
    replay = Replay(recording("rate_limited_429_retry_after"), recording("create_success"))
    sleeps: list[float] = []
    assert rent(provider_for(replay, sleeps)) == "1234567"
    assert sleeps == [2.0]


def test_a_retry_after_longer_than_we_may_sleep_is_handed_back_to_the_caller() -> None:
    record = recording("rate_limited_429_retry_after")
    record["response"]["headers"]["Retry-After"] = "3600"
    failure = failure_of(ProviderThrottled, rent, record)
    assert failure.sleeps == []
    assert len(failure.requests) == 1
    assert failure.error.retry_after_seconds == 3600.0


def test_an_html_502_is_unavailable_after_retries_and_quotes_the_page_text() -> None:
    failure = failure_of(ProviderUnavailable, search, recording("bad_gateway_502"))
    assert len(failure.requests) == 4
    assert failure.sleeps == [1.0, 2.0, 4.0]
    assert "502 Bad Gateway" in failure.error.message
    assert "<" not in failure.error.message
    assert failure.error.status_code == 502


def test_an_instance_answered_as_null_is_not_found() -> None:
    with pytest.raises(ProviderMachineNotFound):
        provider_for(Replay(recording("show_instance_gone"))).get_machine("1234567")


def test_destroying_an_instance_vast_no_longer_knows_is_fine() -> None:
    replay = Replay(recording("destroy_404"))
    provider_for(replay).destroy_machine("1234567")
    assert len(replay.requests) == 1


def test_a_running_instance_maps_to_our_vocabulary() -> None:
    machine = provider_for(Replay(recording("show_instance_running"))).get_machine("1234567")
    assert machine.provider_instance_id == "1234567"
    assert machine.status is ProviderMachineStatus.RUNNING
    assert machine.ip_address == "203.0.113.25"
    assert machine.ssh_port == 41022, "the direct port, not Vast's proxy port"
    assert machine.ssh_host is None, "SSH answers on the public IP"
    # Recorded under an SSH runtype, which replaces the image's entrypoint: no Jupyter was started.
    assert machine.jupyter_port is None and machine.jupyter_url is None
    assert machine.gpu_name == "RTX 4090"
    assert machine.num_gpus == 2
    assert machine.gpu_memory_gb == 24.0
    assert machine.price_per_hour == 0.8213
    assert machine.reliability == 0.9912
    assert machine.geolocation == "Texas, US"


def test_an_instance_that_exited_while_meant_to_run_has_failed_with_vasts_reason() -> None:
    machine = provider_for(Replay(recording("show_instance_exited"))).get_machine("1234567")
    assert machine.status is ProviderMachineStatus.FAILED
    assert machine.status_message is not None
    assert "driver/library version mismatch" in machine.status_message
    assert machine.ssh_port is None


@pytest.mark.parametrize(
    ("actual", "intended", "expected"),
    [
        (None, "running", ProviderMachineStatus.PROVISIONING),
        ("created", "running", ProviderMachineStatus.PROVISIONING),
        ("loading", "running", ProviderMachineStatus.PROVISIONING),
        ("running", "running", ProviderMachineStatus.RUNNING),
        ("running", "stopped", ProviderMachineStatus.RUNNING),
        ("exited", "stopped", ProviderMachineStatus.STOPPED),
        ("stopped", "stopped", ProviderMachineStatus.STOPPED),
        ("exited", "running", ProviderMachineStatus.FAILED),
        ("offline", "running", ProviderMachineStatus.FAILED),
        ("offline", "stopped", ProviderMachineStatus.FAILED),
        ("some_future_state", "running", ProviderMachineStatus.PROVISIONING),
    ],
)
def test_status_mapping(actual: str | None, intended: str, expected: ProviderMachineStatus) -> None:
    record = recording("show_instance_running")
    record["response"]["body"]["instances"].update(actual_status=actual, intended_status=intended)
    assert provider_for(Replay(record)).get_machine("1234567").status is expected


def test_rent_request_is_what_vast_expects() -> None:
    replay = Replay(recording("create_success"))
    provider = provider_for(replay)
    assert rent(provider) == "1234567"
    assert rent(provider, bid_per_hour=0.42) == "1234567"
    on_demand, bid = replay.requests
    assert on_demand.headers["Authorization"] == f"Bearer {API_KEY}"
    assert on_demand.headers["Content-Type"] == "application/json"
    body = json.loads(on_demand.content)
    assert body == {
        "client_id": "me",
        "image": "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-devel",
        "disk": 64,
        "label": "dumont-m-01",
        "runtype": "jupyter_direc ssh_direc ssh_proxy",
        "env": {},
        "cancel_unavail": True,
        "onstart": "touch /root/ready",
    }
    assert "price" not in body, "any price makes Vast rent as interruptible"
    assert json.loads(bid.content)["price"] == 0.42


def test_timeouts_are_retried_then_unavailable() -> None:
    calls: list[httpx.Request] = []

    def time_out(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("timed out", request=request)

    sleeps: list[float] = []
    with pytest.raises(ProviderUnavailable) as raised:
        provider_for(time_out, sleeps).get_machine("1234567")
    assert len(calls) == 4 and sleeps == [1.0, 2.0, 4.0]
    assert "did not answer" in raised.value.message


def test_a_non_json_success_is_a_provider_error_not_a_crash() -> None:
    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>maintenance</html>")

    with pytest.raises(ProviderError) as raised:
        provider_for(html).search_offers(
            OfferQuery(gpu_names=["RTX 4090"], min_reliability=0.9, min_disk_gb=1, limit=5)
        )
    assert "maintenance" in raised.value.message


def test_a_body_echoing_the_key_is_redacted() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"success": False, "error": "invalid_args", "msg": f"bad key {API_KEY}"}
        )

    with pytest.raises(ProviderRequestRejected) as raised:
        provider_for(echo).stop_machine("1234567")
    assert API_KEY not in str(raised.value)
    assert "invalid_args" in raised.value.message


def test_an_id_that_is_not_a_vast_id_never_reaches_the_network() -> None:
    replay = Replay(recording("show_instance_running"))
    with pytest.raises(ProviderRequestRejected):
        provider_for(replay).get_machine("../users/current")
    assert replay.requests == []
