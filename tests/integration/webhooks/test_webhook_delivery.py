"""Subscriptions, the fan-out and the sender over a real table (moto), a controllable clock and a receiver
in memory: what is sent, what is retried and when, and what is given up."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import jsonschema
import pytest

from dumont_core.platform.errors import NotFound, ValidationFailed
from dumont_core.platform.identity import Principal
from dumont_core.webhooks.addresses import AddressPolicy
from dumont_core.webhooks.catalog import event_types
from dumont_core.webhooks.events import WebhookDisabled
from dumont_core.webhooks.models import DeliveryStatus, Subscription
from dumont_core.webhooks.repository import WebhookRepository
from dumont_core.webhooks.retries import Backoff
from dumont_core.webhooks.sender import DeliverySender
from dumont_core.webhooks.service import WebhookService
from infra.topology import REPO_ROOT
from tests.fakes.clock import Clock
from tests.fakes.events import InMemoryPublisher
from tests.fakes.webhooks import FakeReceiver, MemoryQueue, resolving

OWNER = Principal(account_id="acct_owner", team_id="team_one")
STRANGER = Principal(account_id="acct_other", team_id="team_two")
SECRET = "a secret of the receiver's"
RESOLVER: Any = resolving(hooks_example_com="93.184.215.14", inside_example_com="10.1.2.3")
PING_SCHEMA = REPO_ROOT / "events" / "webhooks" / "webhook.ping.json"


class Webhooks:
    def __init__(self, clock: Clock, publisher: InMemoryPublisher) -> None:
        self.clock = clock
        self.repository = WebhookRepository(delivery_retention=timedelta(days=30))
        self.queue = MemoryQueue()
        self.dead_letters = MemoryQueue()
        self.receiver = FakeReceiver(clock)
        self.publisher = publisher
        policy = AddressPolicy()
        self.service = WebhookService(
            repository=self.repository, queue=self.queue, policy=policy, resolver=RESOLVER, clock=clock
        )
        self.sender = DeliverySender(
            repository=self.repository,
            poster=self.receiver,
            dead_letters=self.dead_letters,
            publisher=publisher,
            policy=policy,
            backoff=Backoff(30, 3600),
            give_up_after=timedelta(hours=24),
            resolver=RESOLVER,
            clock=clock,
        )

    def subscribe(self, events: list[str] | None = None) -> Subscription:
        return self.service.create(
            OWNER, "https://hooks.example.com/dumont", events or ["instance.created"], secret=SECRET
        )

    def publish(self, event: str = "instance.created", event_id: str = "evt-1") -> list[Any]:
        detail = {
            "event": event,
            "timestamp": "2025-03-01T12:00:00Z",
            "account_id": OWNER.account_id,
            "team_id": OWNER.team_id,
            "data": {"instance_id": "inst_1"},
        }
        return self.service.fan_out(event_id, detail)

    def send_queued(self) -> list[float | None]:
        refs, self.queue.refs = self.queue.refs, []
        return [self.sender.send(ref) for ref in refs]


@pytest.fixture
def hooks(dynamodb_table: str, clock: Clock, publisher: InMemoryPublisher) -> Webhooks:
    return Webhooks(clock, publisher)


def test_an_event_reaches_each_subscription_that_wants_it_signed_over_the_exact_body(hooks: Webhooks) -> None:
    wanted = hooks.subscribe(["instance.created"])
    everything = hooks.subscribe(["*"])
    hooks.subscribe(["snapshot.completed"])

    deliveries = hooks.publish()
    assert {d.webhook_id for d in deliveries} == {wanted.webhook_id, everything.webhook_id}
    assert hooks.send_queued() == [None, None]

    for target, body, headers in hooks.receiver.received:
        assert target.address == "93.184.215.14" and target.host_header == "hooks.example.com"
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Dumont-Signature"] == expected
        stamped = hmac.new(
            SECRET.encode(), headers["X-Dumont-Timestamp"].encode() + b"." + body, hashlib.sha256
        )
        assert headers["X-Dumont-Signature-Timestamped"] == stamped.hexdigest()
        assert headers["X-Dumont-Event"] == "instance.created"
        assert body == (
            b'{"event":"instance.created","timestamp":"2025-03-01T12:00:00Z","data":{"instance_id":"inst_1"}}'
        )
    (logged,) = hooks.service.deliveries(OWNER, wanted.webhook_id, 10)
    assert (logged.status, logged.attempts, logged.response_code) == (DeliveryStatus.DELIVERED, 1, 200)


def test_the_same_event_handed_over_twice_keeps_its_delivery_ids_and_is_sent_once(hooks: Webhooks) -> None:
    hooks.subscribe()
    first = hooks.publish(event_id="evt-7")
    hooks.send_queued()
    again = hooks.publish(event_id="evt-7")
    hooks.send_queued()

    assert [d.delivery_id for d in again] == [d.delivery_id for d in first]
    assert len(hooks.receiver.received) == 1


def test_failures_are_retried_with_a_doubling_wait_then_dead_lettered_after_a_day(hooks: Webhooks) -> None:
    subscription = hooks.subscribe()
    hooks.receiver.status = 503
    hooks.publish()
    (ref,) = hooks.queue.refs

    waits = []
    while (wait := hooks.sender.send(ref)) is not None:
        waits.append(wait)
        hooks.clock.advance(seconds=wait)
    assert waits[:5] == [30, 60, 120, 240, 480]
    assert max(waits) == 3600
    assert sum(waits) >= 24 * 3600 - 3600
    (logged,) = hooks.service.deliveries(OWNER, subscription.webhook_id, 10)
    assert logged.status == DeliveryStatus.FAILED
    assert logged.attempts == len(waits) + 1
    assert logged.response_code == 503
    assert hooks.dead_letters.refs == [ref]


def test_a_delivery_still_failing_when_its_queue_stops_handing_it_over_is_recorded_failed(
    hooks: Webhooks,
) -> None:
    # Waits of a few seconds, as on the local stack, use up a queue's receives within minutes, long
    # before the retry period: the queue would move the message aside and nothing would record it.
    queue_allows = 12
    sender = dataclasses.replace(hooks.sender, backoff=Backoff(1, 8), receive_limit=queue_allows)
    subscription = hooks.subscribe()
    hooks.receiver.status = None
    hooks.publish()
    (ref,) = hooks.queue.refs

    receives = 1
    while sender.send(ref, receive_count=receives) is not None:
        hooks.clock.advance(seconds=8)
        receives += 1

    assert receives == queue_allows - 1, "the last receive is left for a try the sender never saw"
    (logged,) = hooks.service.deliveries(OWNER, subscription.webhook_id, 10)
    assert (logged.status, logged.attempts, logged.next_attempt_at) == (DeliveryStatus.FAILED, receives, None)
    assert "as many as its queue allows" in (logged.error or "")
    assert hooks.dead_letters.refs == [ref]
    assert hooks.service.get(OWNER, subscription.webhook_id).enabled, "a day of failures disables, not this"


def test_a_subscription_failing_for_a_day_is_disabled_with_an_event(hooks: Webhooks) -> None:
    subscription = hooks.subscribe()
    hooks.receiver.status = None
    hooks.publish(event_id="evt-1")
    hooks.send_queued()
    hooks.clock.advance(hours=23)
    hooks.publish(event_id="evt-2")
    hooks.send_queued()
    assert hooks.service.get(OWNER, subscription.webhook_id).enabled
    hooks.clock.advance(hours=1)
    hooks.publish(event_id="evt-3")
    hooks.send_queued()

    disabled = hooks.service.get(OWNER, subscription.webhook_id)
    assert not disabled.enabled
    assert disabled.disabled_reason == "every delivery failed for 24 hours"
    (event,) = hooks.publisher.published
    assert isinstance(event, WebhookDisabled)
    assert event.bus_detail()["data"]["webhook_id"] == subscription.webhook_id
    assert hooks.publish(event_id="evt-4") == [], "nothing more is sent to it"

    enabled = hooks.service.update(OWNER, subscription.webhook_id, {"enabled": True})
    assert enabled.enabled and enabled.failing_since is None and enabled.disabled_reason is None


def test_one_success_forgets_the_failures(hooks: Webhooks) -> None:
    subscription = hooks.subscribe()
    hooks.receiver.status = 500
    hooks.publish(event_id="evt-1")
    hooks.send_queued()
    assert hooks.service.get(OWNER, subscription.webhook_id).failing_since == hooks.clock.now
    hooks.receiver.status = 204
    hooks.clock.advance(hours=20)
    hooks.publish(event_id="evt-2")
    hooks.send_queued()
    assert hooks.service.get(OWNER, subscription.webhook_id).failing_since is None


def test_a_name_that_now_resolves_inside_is_refused_at_send_time(hooks: Webhooks) -> None:
    subscription = hooks.subscribe()
    hooks.repository.update_subscription(
        OWNER.team_id, subscription.webhook_id, {"url": "https://inside.example.com/x"}
    )
    hooks.publish()
    assert hooks.send_queued() == [30]
    assert hooks.receiver.received == []
    (logged,) = hooks.service.deliveries(OWNER, subscription.webhook_id, 10)
    assert logged.status == DeliveryStatus.RETRYING
    assert "private address" in (logged.error or "")


def test_subscribing_refuses_private_addresses_and_unknown_events(hooks: Webhooks) -> None:
    for url in (
        "https://inside.example.com/x",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest",
        "http://hooks.example.com/",
    ):
        with pytest.raises(ValidationFailed):
            hooks.service.create(OWNER, url, ["*"], secret=None)
    with pytest.raises(ValidationFailed, match=r"instance\.exploded"):
        hooks.service.create(OWNER, "https://hooks.example.com/", ["instance.exploded"], secret=None)
    assert hooks.service.list_subscriptions(OWNER) == []


def test_a_test_ping_redelivery_and_another_team(hooks: Webhooks) -> None:
    subscription = hooks.service.create(OWNER, "https://hooks.example.com/", ["*"], secret=None)
    assert subscription.secret.startswith("whsec_")
    ping = hooks.service.ping(OWNER, subscription.webhook_id)
    hooks.send_queued()
    again = hooks.service.redeliver(OWNER, subscription.webhook_id, ping.delivery_id)
    hooks.send_queued()

    assert again.delivery_id != ping.delivery_id and again.redelivery_of == ping.delivery_id
    (first, second) = hooks.receiver.received
    assert first[1] == second[1]
    assert first[2]["X-Dumont-Event"] == "webhook.ping"
    assert first[2]["X-Dumont-Delivery"] != second[2]["X-Dumont-Delivery"]
    with pytest.raises(NotFound):
        hooks.service.get(STRANGER, subscription.webhook_id)
    with pytest.raises(NotFound):
        hooks.service.redeliver(OWNER, subscription.webhook_id, "dlv_missing")


def test_a_change_of_nothing_answers_the_subscription_as_it_is(hooks: Webhooks) -> None:
    subscription = hooks.subscribe()
    assert hooks.service.update(OWNER, subscription.webhook_id, {}) == subscription


def test_a_host_no_resolver_takes_is_not_an_error(hooks: Webhooks) -> None:
    from dumont_core.webhooks.addresses import check, system_resolver

    assert check("https://a\x00b.example.com/", AddressPolicy(), system_resolver) is None


def test_a_ping_sends_the_body_its_schema_documents_and_cannot_be_subscribed_to(hooks: Webhooks) -> None:
    schema = json.loads(PING_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    subscription = hooks.subscribe()
    hooks.service.ping(OWNER, subscription.webhook_id)
    hooks.send_queued()

    ((_, body, headers),) = hooks.receiver.received
    sent = json.loads(body)
    assert headers["X-Dumont-Event"] == sent["event"] == "webhook.ping"
    assert sent["data"] == {"webhook_id": subscription.webhook_id, "requested_by": OWNER.account_id}
    assert [error.message for error in validator.iter_errors(sent)] == []
    (example,) = schema["examples"]
    assert [error.message for error in validator.iter_errors(example)] == []
    assert list(validator.iter_errors({**sent, "team_id": OWNER.team_id})), "receivers get no ownership"
    assert "webhook.ping" not in event_types()
