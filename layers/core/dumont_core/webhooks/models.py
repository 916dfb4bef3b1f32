"""Webhook subscriptions and their deliveries, as their owners see them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from dumont_core.platform.models import DomainModel

ALL_EVENTS = "*"
PING_EVENT = "webhook.ping"
"""What `POST /api/v1/webhooks/{id}/test` sends; every subscription receives it, whatever it chose."""
SECRET_PREFIX = "whsec_"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Queued; not tried yet."""
    RETRYING = "retrying"
    """Tried and failed; tried again at `next_attempt_at`."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Given up: retried for the whole retry period (or its subscription is gone or disabled)."""


class Subscription(DomainModel):
    webhook_id: str
    team_id: str
    url: str
    events: list[str] = Field(description="Event types delivered, or `*` for all")
    secret: str
    enabled: bool = True
    created_at: datetime
    created_by: str
    failing_since: datetime | None = None
    """When its deliveries began to fail, none having succeeded since; None while they succeed."""
    disabled_reason: str | None = None

    def wants(self, event: str) -> bool:
        return self.enabled and (event == PING_EVENT or ALL_EVENTS in self.events or event in self.events)


class Delivery(DomainModel):
    delivery_id: str = Field(description="Also sent as `X-Dumont-Delivery`: receivers deduplicate on it")
    webhook_id: str
    team_id: str
    event: str
    body: str
    """The exact JSON sent, which the signatures cover."""
    created_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    response_code: int | None = None
    latency_ms: float | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    error: str | None = None
    redelivery_of: str | None = None


class DeliveryRef(DomainModel):
    """What the delivery queue carries: enough to find a delivery by its keys."""

    team_id: str
    webhook_id: str
    delivery_id: str


class Attempt(DomainModel):
    """One POST to a receiver, as it went."""

    at: datetime
    response_code: int | None
    latency_ms: float
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_webhook_id() -> str:
    return "wh_" + secrets.token_hex(8)


def delivery_id_at(moment: datetime, *unique: str) -> str:
    """A delivery id that sorts by time: the moment in milliseconds, then a digest of `unique` (so one
    event delivered to one subscription always gets the same id) or random digits."""
    tail = hashlib.sha256("\0".join(unique).encode()).hexdigest()[:12] if unique else secrets.token_hex(6)
    return f"dlv_{int(moment.timestamp() * 1000):012x}{tail}"
