"""Price history for the local stack: the marketplace's prices as they were over the last days,
collected as the scheduled collector would have collected them, in a background thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from dumont_core import composition
from dumont_core.market.collector import PriceCollector
from dumont_core.platform.clock import utc_now
from dumont_core.providers.vastai import VastAiProvider
from local_stack.marketplace import LocalMarketplace

logger = logging.getLogger(__name__)

RECENT_SECONDS = 6 * 3600.0
"""Over the last six hours, a collection every 15 minutes; before that, one an hour."""


def history_moments(now: float, days: float) -> list[float]:
    """When the history's collections are made, oldest first, all before `now`."""
    start = now - days * 86_400
    recent = max(start, now - RECENT_SECONDS)
    hourly = [float(moment) for moment in range(int(start), int(recent), 3600)]
    return hourly + [float(moment) for moment in range(int(recent), int(now), 900)]


class MarketHistory:
    """Makes `days` of price history from the marketplace's prices as they were, then calls `then`."""

    def __init__(self, marketplace: LocalMarketplace, days: float) -> None:
        self._marketplace = marketplace
        self._days = days
        self._stopping = threading.Event()
        self.made = threading.Event()
        """Set once the history is made (or given up on)."""
        self._thread = threading.Thread(target=self._make, name="market-history", daemon=True)
        self._then: Callable[[], Any] = lambda: None

    def start(self, then: Callable[[], Any]) -> MarketHistory:
        self._then = then
        self._thread.start()
        return self

    def wait(self, timeout: float) -> bool:
        return self.made.wait(timeout)

    def stop(self, timeout: float) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _make(self) -> None:
        market = self._marketplace
        # The real adapter, calling the marketplace in this process rather than through a socket.
        with VastAiProvider(
            market.url, market.api_key, transport=httpx.WSGITransport(app=market.app)
        ) as provider:
            collector = PriceCollector(
                providers=[provider], repository=composition.market_repository(), clock=utc_now
            )
            try:
                for moment in history_moments(time.time(), self._days):
                    if self._stopping.is_set():
                        return
                    with market.prices.pinned_at(moment):
                        collector.collect(at=datetime.fromtimestamp(moment, UTC))
            except Exception:
                logger.exception("Price history could not be made")
            finally:
                self.made.set()
        if not self._stopping.is_set():
            self._then()
