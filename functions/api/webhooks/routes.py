"""Webhooks: `/api/v1/webhooks…`, and `/api/webhooks` of seed 003."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import RootModel

from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import Envelope
from api.webhooks.schemas import (
    CreatedWebhookView,
    DeliveryId,
    DeliveryView,
    NewWebhookRequest,
    WebhookChangesRequest,
    WebhookId,
    WebhookView,
)
from dumont_core import composition
from dumont_core.platform.identity import Principal
from dumont_core.webhooks.models import Subscription

routes = DomainRoutes(tag="Webhooks")


def _create(caller: Principal, body: NewWebhookRequest) -> Subscription:
    return composition.webhooks().create(
        caller, body.url, body.events, secret=body.secret, enabled=body.enabled
    )


@routes.operation(
    "POST", "/api/v1/webhooks", Envelope[CreatedWebhookView], "webhooks.manage", status=201, errors=(400,)
)
def create_webhook(caller: Caller, body: Annotated[NewWebhookRequest, Body(embed=False)]) -> Response[str]:
    """Subscribe to events

    Every event of your team you chose is POSTed to `url` as `{"event", "timestamp", "data"}`, signed
    with the secret (`X-Dumont-Signature`: the hex HMAC-SHA256 of the body). The secret is in this answer
    only."""
    view = CreatedWebhookView.model_validate(_create(caller, body))
    return json_response(Envelope[CreatedWebhookView](data=view), 201)


@routes.operation("POST", "/api/webhooks", CreatedWebhookView, "webhooks.manage", status=201, errors=(400,))
def create_webhook_unversioned(
    caller: Caller, body: Annotated[NewWebhookRequest, Body(embed=False)]
) -> Response[str]:
    """Subscribe to events (seed 003)

    As `POST /api/v1/webhooks`, answered without the envelope."""
    return json_response(CreatedWebhookView.model_validate(_create(caller, body)), 201)


@routes.operation("GET", "/api/v1/webhooks", Envelope[list[WebhookView]], "webhooks.view")
def list_webhooks(caller: Caller) -> Response[str]:
    """List webhooks

    Your team's subscriptions, oldest first."""
    subscriptions = composition.webhooks().list_subscriptions(caller)
    return json_response(Envelope[list[WebhookView]].model_validate({"data": subscriptions}))


@routes.operation("GET", "/api/webhooks", list[WebhookView], "webhooks.view")
def list_webhooks_unversioned(caller: Caller) -> Response[str]:
    """List webhooks (seed 003)"""
    subscriptions = composition.webhooks().list_subscriptions(caller)
    return json_response(RootModel[list[WebhookView]].model_validate(subscriptions, from_attributes=True))


@routes.operation(
    "GET", "/api/v1/webhooks/{webhook_id}", Envelope[WebhookView], "webhooks.view", errors=(404,)
)
def get_webhook(caller: Caller, webhook_id: WebhookId) -> Response[str]:
    """Read a webhook"""
    view = WebhookView.model_validate(composition.webhooks().get(caller, webhook_id))
    return json_response(Envelope[WebhookView](data=view))


@routes.operation(
    "PATCH", "/api/v1/webhooks/{webhook_id}", Envelope[WebhookView], "webhooks.manage", errors=(400, 404)
)
def change_webhook(
    caller: Caller, webhook_id: WebhookId, body: Annotated[WebhookChangesRequest, Body(embed=False)]
) -> Response[str]:
    """Change a webhook

    Only the fields sent change. `"enabled": true` turns a disabled one back on and forgets its
    failures."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    view = WebhookView.model_validate(composition.webhooks().update(caller, webhook_id, changes))
    return json_response(Envelope[WebhookView](data=view))


@routes.operation(
    "DELETE", "/api/v1/webhooks/{webhook_id}", Envelope[WebhookView], "webhooks.manage", errors=(404,)
)
def delete_webhook(caller: Caller, webhook_id: WebhookId) -> Response[str]:
    """Delete a webhook

    Nothing more is sent to it, deliveries already queued included."""
    view = WebhookView.model_validate(composition.webhooks().delete(caller, webhook_id))
    return json_response(Envelope[WebhookView](data=view))


@routes.operation(
    "POST",
    "/api/v1/webhooks/{webhook_id}/test",
    Envelope[DeliveryView],
    "webhooks.manage",
    status=202,
    errors=(404,),
)
def test_webhook(caller: Caller, webhook_id: WebhookId) -> Response[str]:
    """Send a test ping

    Queues a `webhook.ping` delivery, signed like every other; its outcome is in the delivery log."""
    view = DeliveryView.model_validate(composition.webhooks().ping(caller, webhook_id))
    return json_response(Envelope[DeliveryView](data=view), 202)


@routes.operation(
    "GET",
    "/api/v1/webhooks/{webhook_id}/deliveries",
    Envelope[list[DeliveryView]],
    "webhooks.view",
    errors=(400, 404),
)
def list_deliveries(
    caller: Caller,
    webhook_id: WebhookId,
    limit: Annotated[int, Query(ge=1, le=100, description="How many, newest first")] = 50,
) -> Response[str]:
    """The delivery log

    The webhook's deliveries, newest first (kept 30 days): status, attempts, the receiver's last answer
    and latency, and when a failed one is tried next."""
    deliveries = composition.webhooks().deliveries(caller, webhook_id, limit)
    return json_response(Envelope[list[DeliveryView]].model_validate({"data": deliveries}))


@routes.operation(
    "POST",
    "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    Envelope[DeliveryView],
    "webhooks.manage",
    status=202,
    errors=(404,),
)
def redeliver(caller: Caller, webhook_id: WebhookId, delivery_id: DeliveryId) -> Response[str]:
    """Deliver again

    Sends the same body again as a new delivery, with an id of its own."""
    view = DeliveryView.model_validate(composition.webhooks().redeliver(caller, webhook_id, delivery_id))
    return json_response(Envelope[DeliveryView](data=view), 202)
