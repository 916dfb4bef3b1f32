"""Subscriptions, as their team manages them, and the deliveries made for them: the fan-out of each domain
event to the subscriptions that want it, test pings, the delivery log and redelivery."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import NotFound, ValidationFailed
from dumont_core.platform.identity import Principal
from dumont_core.webhooks.addresses import AddressPolicy, Resolver, check, system_resolver
from dumont_core.webhooks.catalog import event_types
from dumont_core.webhooks.models import (
    ALL_EVENTS,
    PING_EVENT,
    Delivery,
    DeliveryRef,
    Subscription,
    delivery_id_at,
    new_secret,
    new_webhook_id,
)
from dumont_core.webhooks.repository import WebhookRepository

MAX_SUBSCRIPTIONS_PER_TEAM = 50


class DeliveryQueue(Protocol):
    def enqueue(self, refs: Sequence[DeliveryRef]) -> None: ...


def payload(event: str, timestamp: str, data: Mapping[str, Any]) -> str:
    """What a receiver gets: seeds 001 and 003's `{"event", "timestamp", "data"}`."""
    return json.dumps({"event": event, "timestamp": timestamp, "data": data}, separators=(",", ":"))


def webhook_not_found(webhook_id: str) -> NotFound:
    return NotFound("WEBHOOK_NOT_FOUND", f"Webhook {webhook_id} not found", webhook_id=webhook_id)


def checked_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - event_types() - {ALL_EVENTS})
    if unknown:
        known = ", ".join(sorted(event_types()))
        why = f"unknown event {', '.join(unknown)}; choose from {known}, or * for all"
        raise ValidationFailed(
            f"Invalid request: events: {why}", details={"fields": [{"field": "events", "message": why}]}
        )
    if not events:
        why = "choose at least one event, or * for all"
        raise ValidationFailed(
            f"Invalid request: events: {why}", details={"fields": [{"field": "events", "message": why}]}
        )
    return sorted(set(events))


@dataclass(frozen=True, kw_only=True)
class WebhookService:
    repository: WebhookRepository
    queue: DeliveryQueue
    policy: AddressPolicy
    resolver: Resolver = system_resolver
    clock: Clock = field(default=utc_now)

    def create(
        self, principal: Principal, url: str, events: list[str], *, secret: str | None, enabled: bool = True
    ) -> Subscription:
        checked = checked_events(events)
        check(url, self.policy, self.resolver)
        if len(self.repository.subscriptions(principal.team_id)) >= MAX_SUBSCRIPTIONS_PER_TEAM:
            raise ValidationFailed(
                f"A team has at most {MAX_SUBSCRIPTIONS_PER_TEAM} webhooks; delete one first",
                details={"fields": []},
            )
        subscription = Subscription(
            webhook_id=new_webhook_id(),
            team_id=principal.team_id,
            url=url,
            events=checked,
            secret=secret or new_secret(),
            enabled=enabled,
            created_at=self.clock(),
            created_by=principal.account_id,
        )
        self.repository.add_subscription(subscription)
        return subscription

    def list_subscriptions(self, principal: Principal) -> list[Subscription]:
        return sorted(self.repository.subscriptions(principal.team_id), key=lambda sub: sub.created_at)

    def get(self, principal: Principal, webhook_id: str) -> Subscription:
        subscription = self.repository.subscription(principal.team_id, webhook_id)
        if subscription is None:
            raise webhook_not_found(webhook_id)
        return subscription

    def update(self, principal: Principal, webhook_id: str, changes: dict[str, Any]) -> Subscription:
        """Change what `changes` names: `url`, `events`, `secret` or `enabled`. Turning a subscription on
        forgets its failures."""
        current = self.get(principal, webhook_id)
        if not changes:
            return current
        if "events" in changes:
            changes["events"] = checked_events(changes["events"])
        if "url" in changes:
            check(changes["url"], self.policy, self.resolver)
        if changes.get("enabled"):
            changes.update(failing_since=None, disabled_reason=None)
        updated = self.repository.update_subscription(principal.team_id, webhook_id, changes)
        if updated is None:
            raise webhook_not_found(webhook_id)
        return updated

    def delete(self, principal: Principal, webhook_id: str) -> Subscription:
        subscription = self.get(principal, webhook_id)
        if not self.repository.delete_subscription(principal.team_id, webhook_id):
            raise webhook_not_found(webhook_id)
        return subscription

    def ping(self, principal: Principal, webhook_id: str) -> Delivery:
        """Queue a `webhook.ping` to the subscription, whatever events it chose."""
        subscription = self.get(principal, webhook_id)
        now = self.clock()
        body = payload(
            PING_EVENT,
            now.isoformat().replace("+00:00", "Z"),
            {"webhook_id": webhook_id, "requested_by": principal.account_id},
        )
        return self._queue([self._delivery(subscription, PING_EVENT, body)])[0]

    def deliveries(self, principal: Principal, webhook_id: str, limit: int) -> list[Delivery]:
        self.get(principal, webhook_id)
        return self.repository.deliveries(webhook_id, limit)

    def redeliver(self, principal: Principal, webhook_id: str, delivery_id: str) -> Delivery:
        """The same body again, as a new delivery (with an id of its own) of the same event."""
        subscription = self.get(principal, webhook_id)
        original = self.repository.delivery(webhook_id, delivery_id)
        if original is None:
            raise NotFound("DELIVERY_NOT_FOUND", f"Delivery {delivery_id} not found", delivery_id=delivery_id)
        again = self._delivery(subscription, original.event, original.body).model_copy(
            update={"redelivery_of": delivery_id}
        )
        return self._queue([again])[0]

    def fan_out(self, event_id: str, detail: Mapping[str, Any]) -> list[Delivery]:
        """One delivery of a domain event (an EventBridge `detail`) per subscription of its team that
        wants it. Each gets an id made from the event's and the subscription's, so the same event handed
        over twice is delivered under the same ids, which receivers deduplicate on."""
        event, team_id = str(detail["event"]), str(detail.get("team_id") or "")
        if not team_id:
            return []
        timestamp = str(detail["timestamp"])
        body = payload(event, timestamp, detail.get("data") or {})
        happened = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        made = [
            self._delivery(subscription, event, body, unique=(event_id, subscription.webhook_id), at=happened)
            for subscription in self.repository.subscriptions(team_id)
            if subscription.wants(event)
        ]
        return self._queue(made)

    def _delivery(
        self,
        subscription: Subscription,
        event: str,
        body: str,
        unique: tuple[str, ...] = (),
        at: datetime | None = None,
    ) -> Delivery:
        now = self.clock()
        return Delivery(
            delivery_id=delivery_id_at(at or now, *unique),
            webhook_id=subscription.webhook_id,
            team_id=subscription.team_id,
            event=event,
            body=body,
            created_at=now,
            next_attempt_at=now,
        )

    def _queue(self, deliveries: list[Delivery]) -> list[Delivery]:
        # Recorded first, then queued: a delivery already recorded (the same event handed over again) is
        # queued again too, in case its first queueing is what failed; the sender skips what is done.
        for delivery in deliveries:
            self.repository.add_delivery(delivery)
        self.queue.enqueue(
            [
                DeliveryRef(team_id=d.team_id, webhook_id=d.webhook_id, delivery_id=d.delivery_id)
                for d in deliveries
            ]
        )
        return deliveries
