"""The event the webhooks domain publishes (schema in `events/domain/webhook.disabled.json`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from dumont_core.platform.events import DomainEvent

WEBHOOK_DISABLED = "webhook.disabled"


class WebhookDisabled(DomainEvent):
    """A subscription whose deliveries failed for the whole retry period, disabled until its owner turns
    it back on (`PATCH /api/v1/webhooks/{id}` with `"enabled": true`)."""

    source: ClassVar[str] = "dumont.webhooks"
    type: str = WEBHOOK_DISABLED
    webhook_id: str
    url: str
    failing_since: datetime
    reason: str

    def data(self) -> dict[str, Any]:
        return {
            "webhook_id": self.webhook_id,
            "url": self.url,
            "failing_since": self.failing_since.isoformat().replace("+00:00", "Z"),
            "reason": self.reason,
        }
