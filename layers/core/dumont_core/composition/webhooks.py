"""The webhooks domain's services: subscriptions and their deliveries, and the sender."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from dumont_core.composition.providing import provided, repository
from dumont_core.platform.settings import WebhookSenderSettings, WebhookSettings, load_settings

if TYPE_CHECKING:
    from dumont_core.platform.queues import SqsQueue
    from dumont_core.webhooks.addresses import AddressPolicy
    from dumont_core.webhooks.repository import WebhookRepository
    from dumont_core.webhooks.sender import DeliverySender
    from dumont_core.webhooks.service import WebhookService

DELIVERY_RETENTION = timedelta(days=30)


def _policy() -> AddressPolicy:
    from dumont_core.webhooks.addresses import AddressPolicy

    settings = load_settings(WebhookSettings)
    return AddressPolicy(
        allow_http=settings.webhook_allow_http, allow_loopback=settings.webhook_allow_loopback
    )


@repository
def webhook_repository() -> WebhookRepository:
    from dumont_core.webhooks.repository import WebhookRepository

    return WebhookRepository(delivery_retention=DELIVERY_RETENTION)


@provided
def delivery_queue() -> SqsQueue:
    from dumont_core.platform.queues import SqsQueue

    return SqsQueue(load_settings(WebhookSettings).webhook_delivery_queue_url)


@provided
def webhooks() -> WebhookService:
    from dumont_core.webhooks.service import WebhookService

    return WebhookService(repository=webhook_repository(), queue=delivery_queue(), policy=_policy())


@provided
def delivery_sender() -> DeliverySender:
    from dumont_core.composition import publisher
    from dumont_core.platform.queues import SqsQueue
    from dumont_core.webhooks.retries import Backoff
    from dumont_core.webhooks.sender import DeliverySender, HttpPoster

    settings = load_settings(WebhookSenderSettings)
    return DeliverySender(
        repository=webhook_repository(),
        poster=HttpPoster(settings.webhook_timeout_seconds),
        dead_letters=SqsQueue(settings.webhook_dead_letter_queue_url),
        publisher=publisher(),
        policy=_policy(),
        backoff=Backoff(settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds),
        give_up_after=timedelta(hours=settings.webhook_give_up_hours),
        receive_limit=settings.webhook_delivery_max_receives,
    )
