"""Requests and answers of the webhook routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import AliasChoices, Field

from api.schemas import RequestBody, View
from dumont_core.webhooks.models import DeliveryStatus

WebhookId = Annotated[str, Path(description="Webhook id, e.g. wh_3f9c…", max_length=64)]
DeliveryId = Annotated[str, Path(description="Delivery id, e.g. dlv_0194…", max_length=64)]
Url = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2048,
        description="Where deliveries are POSTed: https (plain http and localhost only on the local stack); "
        "private, loopback, link-local and metadata addresses are refused",
        examples=["https://your-app.com/webhooks/dumont"],
    ),
]
Events = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Field(
        min_length=1,
        max_length=64,
        description='Event types to deliver (see `events/`), or `["*"]` for all',
        examples=[["instance.created", "failover.completed"]],
    ),
]
Secret = Annotated[
    str,
    Field(
        min_length=16,
        max_length=256,
        description="Signs every delivery (`X-Dumont-Signature`); one is generated when left out",
    ),
]


class NewWebhookRequest(RequestBody):
    url: Url
    events: Events
    secret: Secret | None = None
    enabled: bool = True


class WebhookChangesRequest(RequestBody):
    url: Url | None = None
    events: Events | None = None
    secret: Secret | None = None
    enabled: bool | None = None


class WebhookView(View):
    """A webhook subscription (its secret is shown only when it is created)."""

    id: str = Field(validation_alias=AliasChoices("id", "webhook_id"))
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime
    failing_since: datetime | None = Field(
        description="When its deliveries began to fail, none succeeding since; a day of it disables it"
    )
    disabled_reason: str | None


class CreatedWebhookView(WebhookView):
    """The new webhook subscription, with its secret: keep it, it is not shown again."""

    secret: str


class DeliveryView(View):
    """One delivery of an event to a webhook, and how its attempts went."""

    id: str = Field(validation_alias=AliasChoices("id", "delivery_id"))
    webhook_id: str
    event: str
    status: DeliveryStatus
    attempts: int
    response_code: int | None = Field(description="What the receiver answered last; null if it did not")
    latency_ms: float | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When it is tried next, while it is being retried")
    error: str | None
    redelivery_of: str | None
