"""The rate-limit window a request was counted in: what the `X-RateLimit-*` headers report. Kept on its
own so that the API function reads it from the authorizer's answer without loading the rest of access."""

from __future__ import annotations

from datetime import datetime

from dumont_core.platform.models import DomainModel


class RateWindow(DomainModel):
    """What the `X-RateLimit-*` headers report: the window closest to its limit."""

    limit: int
    remaining: int
    reset_at: int
    """Epoch second at which the window starts over."""
    limited: bool

    def retry_after(self, now: datetime) -> int:
        return max(1, self.reset_at - int(now.timestamp()))
