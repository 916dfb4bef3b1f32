"""The SDK's behaviour a caller sees, against a scripted API: keys, errors, retries, pages, objects."""

from __future__ import annotations

import httpx
import pytest

from dumont import (
    Client,
    DumontClient,
    DumontError,
    InstanceNotFoundError,
    InvalidStateError,
    NotReadyError,
    RateLimitError,
    ValidationError,
    WaitTimeoutError,
)
from dumont.errors import AuthenticationError
from tests.fakes.api_answers import ScriptedApi, envelope, error

KEY = "dumont_sk_0123456789abcdefghij"
INSTANCE = {"id": "inst_1", "status": "starting", "name": "train", "ip_address": None, "ip": None}


def client_for(api: ScriptedApi, **options: object) -> Client:
    http = httpx.Client(base_url="http://api.test", transport=api.transport())
    return Client(api_key=KEY, base_url="http://api.test", http_client=http, **options)  # type: ignore[arg-type]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def with_clock(client: Client) -> FakeClock:
    clock = FakeClock()
    client._settings.sleep = clock.sleep
    client._settings.clock = clock.monotonic
    return clock


def test_the_key_and_address_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUMONT_API_KEY", KEY)
    monkeypatch.setenv("DUMONT_API_URL", "http://localhost:8766/api/")
    client = DumontClient()
    assert client.base_url == "http://localhost:8766"
    assert client._settings.api_key == KEY


def test_a_placeholder_key_from_the_documents_gives_way_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DUMONT_API_KEY", KEY)
    for placeholder in ("your_key", "YOUR_API_KEY", "dumont_sk_..."):
        assert DumontClient(api_key=placeholder)._settings.api_key == KEY
    real = "dumont_sk_ZYXWVUTSRQPONMLKJIHG"
    assert Client(api_key=real)._settings.api_key == real


def test_no_key_at_all_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUMONT_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="DUMONT_API_KEY"):
        Client()


def test_an_error_envelope_becomes_the_error_of_its_code() -> None:
    api = ScriptedApi(
        error(404, "INSTANCE_NOT_FOUND", "no instance inst_9 in your team"),
        error(409, "INVALID_STATE", "inst_1 is stopped", current_state="stopped", allowed_states=["running"]),
        error(400, "VALIDATION_ERROR", "bad gpu", fields=[{"field": "gpu_type", "message": "unknown"}]),
        httpx.Response(502, text="Bad Gateway"),
    )
    client = client_for(api)
    with pytest.raises(InstanceNotFoundError) as missing:
        client.instances.get("inst_9")
    assert (missing.value.status, missing.value.code) == (404, "INSTANCE_NOT_FOUND")
    assert missing.value.message == "no instance inst_9 in your team"
    with pytest.raises(InvalidStateError) as state:
        client.instances.stop("inst_1")
    assert state.value.details["current_state"] == "stopped"
    with pytest.raises(ValidationError) as invalid:
        client.instances.create(gpu_type="nope")
    assert invalid.value.details["fields"][0]["field"] == "gpu_type"
    with pytest.raises(DumontError) as gateway:
        client.instances.get("inst_1")
    assert gateway.value.status == 502


def test_a_429_raises_with_retry_after_unless_retries_are_asked_for() -> None:
    limited = error(429, "RATE_LIMITED", "slow down", headers={"Retry-After": "7"})
    client = client_for(ScriptedApi(limited))
    with pytest.raises(RateLimitError) as raised:
        client.instances.get("inst_1")
    assert raised.value.retry_after == 7


def test_retries_wait_what_retry_after_says_and_resend_the_same_idempotency_key() -> None:
    limited = error(429, "RATE_LIMITED", "slow down", headers={"Retry-After": "3"})
    api = ScriptedApi(
        limited, limited, envelope({"id": "inst_1", "status": "starting"}, 201), envelope(INSTANCE)
    )
    client = client_for(api, max_retries=3)
    clock = with_clock(client)
    instance = client.instances.create(gpu_type="RTX 4090", region="US-East", auto_hibernate=True, wait=False)
    assert instance.id == "inst_1"
    assert clock.slept == [3.0, 3.0]
    keys = {request.headers["Idempotency-Key"] for request in api.requests[:3]}
    assert len(keys) == 1 and keys != {""}
    assert api.body(0) == {"gpu_type": "RTX 4090", "region": "US-East", "auto_hibernate": True}
    assert "Idempotency-Key" not in api.requests[3].headers  # a read carries none


def test_a_retry_after_given_as_an_http_date_waits_until_that_date() -> None:
    served_at = {"Date": "Wed, 02 Dec 2026 14:00:00 GMT"}
    limited = error(
        429,
        "RATE_LIMITED",
        "slow down",
        headers={"Retry-After": "Wed, 02 Dec 2026 14:00:45 GMT", **served_at},
    )
    client = client_for(ScriptedApi(limited, envelope(INSTANCE)), max_retries=1)
    clock = with_clock(client)
    assert client.instances.get("inst_1").id == "inst_1"
    assert clock.slept == [45.0]
    past = error(
        429,
        "RATE_LIMITED",
        "slow down",
        headers={"Retry-After": "Wed, 02 Dec 2026 13:59:00 GMT", **served_at},
    )
    with pytest.raises(RateLimitError) as raised:
        client_for(ScriptedApi(past)).instances.get("inst_1")
    assert raised.value.retry_after == 0


def test_retries_give_up_after_max_retries() -> None:
    limited = error(429, "RATE_LIMITED", "slow down", headers={"Retry-After": "1"})
    client = client_for(ScriptedApi(limited, limited), max_retries=1)
    with_clock(client)
    with pytest.raises(RateLimitError):
        client.instances.get("inst_1")


def test_each_create_sends_a_new_idempotency_key() -> None:
    snapshot = {"id": "snap_1", "status": "compressing", "instance_id": "inst_1"}
    api = ScriptedApi(envelope(snapshot, 202), envelope(snapshot, 202))
    client = client_for(api)
    client.snapshots.create("inst_1", name="a")
    client.snapshots.create("inst_1", name="a")
    assert api.requests[0].headers["Idempotency-Key"] != api.requests[1].headers["Idempotency-Key"]


def test_iterating_a_list_walks_every_page() -> None:
    def page(number: int, ids: list[int]) -> httpx.Response:
        items = [{**INSTANCE, "id": f"inst_{i}"} for i in ids]
        return envelope(items, meta={"page": number, "per_page": 2, "total": 5})

    api = ScriptedApi(page(1, [1, 2]), page(2, [3, 4]), page(3, [5]))
    instances = client_for(api).instances.list(status="running", per_page=2)
    assert [instance.id for instance in instances] == ["inst_1", "inst_2", "inst_3", "inst_4", "inst_5"]
    assert [request.url.params["page"] for request in api.requests] == ["1", "2", "3"]
    assert all(request.url.params["status"] == "running" for request in api.requests)


def test_objects_have_attributes_and_refresh_themselves() -> None:
    running = {**INSTANCE, "status": "running", "ip_address": "10.0.0.5", "ip": "10.0.0.5"}
    api = ScriptedApi(envelope(INSTANCE), envelope(running))
    instance = client_for(api).instances.get("inst_1")
    assert (instance.id, instance.status, instance.name, instance.ip) == ("inst_1", "starting", "train", None)
    assert instance.refresh().ip == "10.0.0.5"
    with pytest.raises(AttributeError):
        instance.no_such_field  # noqa: B018


def test_wait_until_ready_polls_on_the_clock_it_is_given() -> None:
    running = {**INSTANCE, "status": "running"}
    api = ScriptedApi(envelope(INSTANCE), envelope(INSTANCE), envelope(INSTANCE), envelope(running))
    client = client_for(api)
    clock = with_clock(client)
    instance = client.instances.get("inst_1").wait_until_ready(timeout=60, poll_interval=5)
    assert instance.status == "running"
    assert clock.slept == [5, 5]


def test_wait_until_ready_stops_at_the_timeout_and_at_a_failure() -> None:
    api = ScriptedApi(*[envelope(INSTANCE)] * 5)
    client = client_for(api)
    with_clock(client)
    with pytest.raises(WaitTimeoutError, match="still starting after 4 s"):
        client.instances.get("inst_1").wait_until_ready(timeout=4, poll_interval=2)
    failed = {**INSTANCE, "status": "failed", "status_reason": "no machine booted"}
    client = client_for(ScriptedApi(envelope(INSTANCE), envelope(failed)))
    with_clock(client)
    with pytest.raises(NotReadyError, match="no machine booted"):
        client.instances.get("inst_1").wait_until_ready(timeout=60)


def test_create_returns_once_the_instance_runs_unless_told_not_to_wait() -> None:
    running = {**INSTANCE, "status": "running", "ip_address": "10.0.0.5", "ip": "10.0.0.5"}
    created = envelope({"id": "inst_1", "status": "starting", "estimated_ready_seconds": 12}, 201)
    api = ScriptedApi(created, envelope(INSTANCE), envelope(INSTANCE), envelope(running))
    client = client_for(api)
    clock = with_clock(client)
    instance = client.instances.create(gpu="RTX 4090", image="pytorch:2.0-cuda12")
    assert (instance.status, instance.ip) == ("running", "10.0.0.5")
    assert api.body(0) == {"gpu_type": "RTX 4090", "image": "pytorch:2.0-cuda12"}
    assert clock.slept == [2.0]


def test_hibernate_waits_until_hibernated_on_the_documented_route() -> None:
    hibernating = {**INSTANCE, "status": "hibernating"}
    api = ScriptedApi(
        envelope({**INSTANCE, "status": "running"}),
        httpx.Response(200, json={"status": "hibernating", "message": "ok", "snapshot_id": "snap_1"}),
        envelope(hibernating),
        envelope({**INSTANCE, "status": "hibernated"}),
    )
    client = client_for(api)
    with_clock(client)
    instance = client.instances.get("inst_1")
    assert instance.hibernate().status == "hibernated"
    assert api.requests[1].url.path == "/api/instances/inst_1/hibernate"


def test_a_hibernation_that_failed_is_an_error_naming_why() -> None:
    failed = {**INSTANCE, "status": "running", "status_reason": "snapshot failed: disk full"}
    api = ScriptedApi(
        envelope({**INSTANCE, "status": "running"}),
        httpx.Response(200, json={"status": "hibernating", "message": "ok"}),
        envelope({**INSTANCE, "status": "hibernating"}),
        envelope(failed),
    )
    client = client_for(api)
    with_clock(client)
    with pytest.raises(NotReadyError, match="disk full"):
        client.instances.get("inst_1").hibernate()


def test_an_unreachable_api_is_a_dumont_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = client_for(ScriptedApi(refuse))
    with pytest.raises(DumontError) as raised:
        client.instances.get("inst_1")
    assert raised.value.code == "CONNECTION_ERROR" and raised.value.status is None


def test_a_list_is_what_the_api_held_when_it_was_asked_for() -> None:
    first = envelope([INSTANCE], meta={"page": 1, "per_page": 100, "total": 1})
    api = ScriptedApi(first)
    instances = client_for(api).instances.list()
    assert len(api.requests) == 1  # asked at the call, not when iterated
    assert [instance.id for instance in instances] == ["inst_1"]
    assert [instance.id for instance in instances] == ["inst_1"]  # iterated again, nothing asked
    assert len(instances) == 1 and len(api.requests) == 1


def test_an_id_is_one_path_segment_whatever_it_holds() -> None:
    api = ScriptedApi(error(404, "INSTANCE_NOT_FOUND", "no such instance"))
    with pytest.raises(InstanceNotFoundError):
        client_for(api).instances.get("../api-keys/key_1")
    assert api.requests[0].url.raw_path == b"/api/v1/instances/..%2Fapi-keys%2Fkey_1"
    api = ScriptedApi(error(404, "INSTANCE_NOT_FOUND", "no such instance"))
    with pytest.raises(InstanceNotFoundError):
        client_for(api).instances.get("..")
    assert api.requests[0].url.raw_path == b"/api/v1/instances/%2E%2E"


def test_a_wake_that_could_not_restore_ends_the_wait_at_once() -> None:
    waking = {**INSTANCE, "status": "waking"}
    back = {**INSTANCE, "status": "hibernated", "status_reason": "restore failed: corrupted chunk"}
    api = ScriptedApi(envelope(waking), envelope(waking), envelope(back))
    client = client_for(api)
    clock = with_clock(client)
    with pytest.raises(NotReadyError, match="corrupted chunk"):
        client.instances.get("inst_1").wait_until_ready(timeout=600)
    assert clock.slept == [2.0]
