"""Subscriptions and deliveries in the single table (layout in `platform.table`).

A subscription is an item of its team (`TEAM#{team}` / `WEBHOOK#{id}`), so the fan-out finds the
subscriptions of an event's team with one query. A delivery is an item of its subscription
(`WEBHOOK#{id}` / `DELIVERY#{delivery id}`); delivery ids sort by time, so the log is one query, newest
first. Deliveries expire through the TTL attribute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.exceptions import DeleteError, PutError, UpdateError

from dumont_core.platform import table
from dumont_core.platform.dynamodb import get_item, item_type, stored_value, to_model, write_refused
from dumont_core.webhooks.models import Delivery, DeliveryStatus, Subscription

SubscriptionItem = item_type(Subscription)
DeliveryItem = item_type(Delivery, expires_at=TTLAttribute())
WEBHOOK_PREFIX = table.key("WEBHOOK", "")
DELIVERY_PREFIX = table.key("DELIVERY", "")


def _subscription_keys(team_id: str, webhook_id: str) -> tuple[str, str]:
    return table.team_key(team_id), table.key("WEBHOOK", webhook_id)


def _delivery_keys(webhook_id: str, delivery_id: str) -> tuple[str, str]:
    return table.key("WEBHOOK", webhook_id), table.key("DELIVERY", delivery_id)


def _refused_or_raise(error: Exception) -> bool:
    if write_refused(error):
        return False
    raise error


class WebhookRepository:
    def __init__(self, *, delivery_retention: timedelta) -> None:
        self._delivery_retention = delivery_retention

    # subscriptions

    def add_subscription(self, subscription: Subscription) -> None:
        item = SubscriptionItem(
            *_subscription_keys(subscription.team_id, subscription.webhook_id), **subscription.model_dump()
        )
        item.save(condition=SubscriptionItem.PK.does_not_exist())

    def subscriptions(self, team_id: str) -> list[Subscription]:
        items = SubscriptionItem.query(
            table.team_key(team_id), SubscriptionItem.SK.startswith(WEBHOOK_PREFIX)
        )
        return [to_model(Subscription, item) for item in items]

    def subscription(self, team_id: str, webhook_id: str) -> Subscription | None:
        item = get_item(SubscriptionItem, *_subscription_keys(team_id, webhook_id), consistent=True)
        return None if item is None else to_model(Subscription, item)

    def update_subscription(
        self, team_id: str, webhook_id: str, changes: dict[str, Any]
    ) -> Subscription | None:
        """The subscription with `changes` made (None values removed); None when it is gone."""
        return self._update(team_id, webhook_id, changes, SubscriptionItem.PK.exists())

    def mark_failing(self, team_id: str, webhook_id: str, since: datetime) -> Subscription | None:
        """Note when its deliveries began to fail, unless a failure already did; what it now holds."""
        condition = SubscriptionItem.PK.exists() & SubscriptionItem.failing_since.does_not_exist()
        return self._update(team_id, webhook_id, {"failing_since": since}, condition) or self.subscription(
            team_id, webhook_id
        )

    def clear_failing(self, team_id: str, webhook_id: str) -> None:
        condition = SubscriptionItem.PK.exists() & SubscriptionItem.failing_since.exists()
        self._update(team_id, webhook_id, {"failing_since": None}, condition)

    def disable(self, team_id: str, webhook_id: str, reason: str) -> Subscription | None:
        """Disable it, once: None when it was already disabled (or is gone)."""
        condition = SubscriptionItem.PK.exists() & (SubscriptionItem.enabled == True)  # noqa: E712
        return self._update(team_id, webhook_id, {"enabled": False, "disabled_reason": reason}, condition)

    def delete_subscription(self, team_id: str, webhook_id: str) -> bool:
        try:
            SubscriptionItem(*_subscription_keys(team_id, webhook_id)).delete(
                condition=SubscriptionItem.PK.exists()
            )
        except DeleteError as error:
            return _refused_or_raise(error)
        return True

    def _update(
        self, team_id: str, webhook_id: str, changes: dict[str, Any], condition: Any
    ) -> Subscription | None:
        item = SubscriptionItem(*_subscription_keys(team_id, webhook_id))
        actions = [
            getattr(SubscriptionItem, name).remove()
            if value is None
            else getattr(SubscriptionItem, name).set(stored_value(value))
            for name, value in changes.items()
        ]
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            _refused_or_raise(error)
            return None
        return to_model(Subscription, item)

    # deliveries

    def add_delivery(self, delivery: Delivery) -> bool:
        """Record a delivery to make; False when one of that id is already recorded."""
        item = DeliveryItem(
            *_delivery_keys(delivery.webhook_id, delivery.delivery_id),
            expires_at=delivery.created_at + self._delivery_retention,
            **delivery.model_dump(),
        )
        try:
            item.save(condition=DeliveryItem.PK.does_not_exist())
        except PutError as error:
            return _refused_or_raise(error)
        return True

    def delivery(self, webhook_id: str, delivery_id: str) -> Delivery | None:
        item = get_item(DeliveryItem, *_delivery_keys(webhook_id, delivery_id), consistent=True)
        return None if item is None else to_model(Delivery, item)

    def deliveries(self, webhook_id: str, limit: int) -> list[Delivery]:
        items = DeliveryItem.query(
            table.key("WEBHOOK", webhook_id),
            DeliveryItem.SK.startswith(DELIVERY_PREFIX),
            scan_index_forward=False,
            limit=limit,
        )
        return [to_model(Delivery, item) for item in items]

    def record_attempt(self, before: Delivery, after: Delivery) -> bool:
        """Write what an attempt changed, unless another attempt was recorded since `before` was read."""
        item = DeliveryItem(*_delivery_keys(before.webhook_id, before.delivery_id))
        fields = (
            "status",
            "attempts",
            "response_code",
            "latency_ms",
            "last_attempt_at",
            "next_attempt_at",
            "error",
        )
        actions = [
            getattr(DeliveryItem, name).remove()
            if getattr(after, name) is None
            else getattr(DeliveryItem, name).set(stored_value(getattr(after, name)))
            for name in fields
        ]
        condition = (DeliveryItem.attempts == before.attempts) & (
            DeliveryItem.status != DeliveryStatus.DELIVERED.value
        )
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            return _refused_or_raise(error)
        return True
