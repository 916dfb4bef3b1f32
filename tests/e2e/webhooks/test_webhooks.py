"""Webhooks over HTTP, delivered by the local stack's queues and functions to real receivers."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import pytest

from infra.topology import WEBHOOK_DELIVERIES_QUEUE_NAME
from local_stack.stack import LocalStack
from tests.e2e.conftest import eventually, wait_for_status
from tests.e2e.webhooks.conftest import Receiver, put_on_bus, team_of

pytestmark = pytest.mark.e2e


def subscribe(api: httpx.Client, url: str, events: list[str], **more: Any) -> dict[str, Any]:
    response = api.post("/api/v1/webhooks", json={"url": url, "events": events, **more})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


def deliveries(api: httpx.Client, webhook_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params={"limit": 100})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


def test_seed_003s_receiver_verifies_real_deliveries(
    api: httpx.Client, stack: LocalStack, receiver: Receiver
) -> None:
    # Seed 003's request, with its secret.
    webhook = subscribe(
        api, receiver.url, ["instance.created", "failover.triggered"], secret="your_webhook_secret"
    )
    created = api.post("/api/v1/instances", json={"gpu_type": "RTX_4090"})
    assert created.status_code == 201, created.text
    instance_id = created.json()["data"]["id"]
    put_on_bus(stack, team_of(api), "failover.triggered", {"instance_id": instance_id, "reason": "drill"})
    try:
        assert eventually(lambda: len(receiver.accepted()) == 2, 20), receiver.received
        by_event = {request.event["event"]: request for request in receiver.accepted()}
        assert by_event["instance.created"].event["data"]["instance_id"] == instance_id
        assert set(by_event["instance.created"].event) == {"event", "timestamp", "data"}
        assert receiver.notified == [{"instance_id": instance_id, "reason": "drill", "number": 0}]
        for request in receiver.accepted():
            assert request.headers["X-Dumont-Event"] == request.event["event"]
            stamped = f"{request.headers['X-Dumont-Timestamp']}.{request.body}".encode()
            expected = hmac.new(b"your_webhook_secret", stamped, hashlib.sha256).hexdigest()
            assert request.headers["X-Dumont-Signature-Timestamped"] == expected
        logged = {d["id"]: d for d in deliveries(api, webhook["id"])}
        assert set(logged) == {request.headers["X-Dumont-Delivery"] for request in receiver.accepted()}
        assert {(d["status"], d["attempts"], d["response_code"]) for d in logged.values()} == {
            ("delivered", 1, 200)
        }
    finally:
        wait_for_status(api, instance_id, {"running", "failed"})
        api.delete(f"/api/v1/instances/{instance_id}")
        api.delete(f"/api/v1/webhooks/{webhook['id']}")


def test_a_wrong_secret_is_refused_by_the_receiver_and_the_log_says_so(
    api: httpx.Client, receiver: Receiver
) -> None:
    webhook = subscribe(api, receiver.url, ["snapshot.completed"])
    assert webhook["secret"].startswith("whsec_"), "generated, and shown once"
    assert "secret" not in api.get(f"/api/v1/webhooks/{webhook['id']}").json()["data"]
    ping = api.post(f"/api/v1/webhooks/{webhook['id']}/test")
    assert ping.status_code == 202, ping.text
    try:

        def retrying() -> bool:
            (delivery,) = deliveries(api, webhook["id"])
            return delivery["status"] == "retrying"

        assert eventually(retrying, 20)
        (delivery,) = deliveries(api, webhook["id"])
        assert delivery["response_code"] == 401 and delivery["next_attempt_at"] is not None
        assert delivery["event"] == "webhook.ping"
        assert receiver.received[0].status == 401
        assert api.get(f"/api/v1/webhooks/{webhook['id']}").json()["data"]["failing_since"] is not None
    finally:
        api.delete(f"/api/v1/webhooks/{webhook['id']}")


def test_a_receiver_that_was_down_gets_every_delivery_once_it_is_back(
    api: httpx.Client, stack: LocalStack
) -> None:
    # Deliveries earlier tests left retrying, or the webhooks they left subscribed (to addresses that may
    # take the sender's whole timeout), would stand before these at the one local sender.
    for other in api.get("/api/v1/webhooks").json()["data"]:
        api.delete(f"/api/v1/webhooks/{other['id']}")
    sqs = stack.aws.client("sqs")
    sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName=WEBHOOK_DELIVERIES_QUEUE_NAME)["QueueUrl"])
    down = Receiver(secret="a receiver that restarts").start()
    down.stop()
    webhook = subscribe(api, down.url, ["instance.ready"], secret="a receiver that restarts")
    put_on_bus(stack, team_of(api), "instance.ready", {"instance_id": "inst_0123456789abcdef"}, count=20)

    def all_failed_once() -> bool:
        found = deliveries(api, webhook["id"])
        return len(found) == 20 and all(d["attempts"] >= 1 for d in found)

    # One sender works through them locally (Lambda would run many): give it time on a busy machine.
    assert eventually(all_failed_once, 90)
    assert {d["status"] for d in deliveries(api, webhook["id"])} == {"retrying"}
    back = Receiver(secret="a receiver that restarts", port=down.port).start()
    try:
        assert eventually(lambda: len(back.accepted()) >= 20, 30), len(back.accepted())
        ids = [request.headers["X-Dumont-Delivery"] for request in back.accepted()]
        assert sorted(set(ids)) == sorted(d["id"] for d in deliveries(api, webhook["id"]))
        assert sorted(request.event["data"]["number"] for request in back.accepted()) == list(range(20))
        assert eventually(lambda: {d["status"] for d in deliveries(api, webhook["id"])} == {"delivered"}, 10)
        assert api.get(f"/api/v1/webhooks/{webhook['id']}").json()["data"]["failing_since"] is None
    finally:
        back.stop()
        api.delete(f"/api/v1/webhooks/{webhook['id']}")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://192.168.0.10:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
    ],
)
def test_a_private_or_metadata_address_is_refused(api: httpx.Client, url: str) -> None:
    refused = api.post("/api/v1/webhooks", json={"url": url, "events": ["*"]})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["fields"][0]["field"] == "url"
    assert url not in [webhook["url"] for webhook in api.get("/api/v1/webhooks").json()["data"]]


def test_subscriptions_are_listed_changed_and_deleted_and_seed_003s_route_answers_bare(
    api: httpx.Client,
) -> None:
    legacy = api.post(
        "/api/webhooks",
        json={
            "url": "http://localhost:9/webhooks/dumont",
            "events": ["instance.created", "failover.triggered"],
            "secret": "your_webhook_secret",
        },
    )
    assert legacy.status_code == 201, legacy.text
    webhook_id = legacy.json()["id"]
    assert legacy.json()["secret"] == "your_webhook_secret"
    assert webhook_id in [webhook["id"] for webhook in api.get("/api/webhooks").json()]

    unknown = api.patch(f"/api/v1/webhooks/{webhook_id}", json={"events": ["instance.exploded"]})
    assert unknown.status_code == 400 and "instance.exploded" in unknown.json()["error"]["message"]
    changed = api.patch(f"/api/v1/webhooks/{webhook_id}", json={"events": ["*"], "enabled": False})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["data"]["events"], changed.json()["data"]["enabled"]) == (["*"], False)

    assert api.delete(f"/api/v1/webhooks/{webhook_id}").status_code == 200
    gone = api.get(f"/api/v1/webhooks/{webhook_id}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "WEBHOOK_NOT_FOUND"
