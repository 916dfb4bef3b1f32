"""The market domain's services: price collection, prices and their history, forecasts, offers and the
GPU advisor."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from dumont_core.composition.providing import provided, repository
from dumont_core.platform.settings import MarketSettings, load_settings

if TYPE_CHECKING:
    from dumont_core.instances.uptime import UptimeRepository, UptimeService
    from dumont_core.market.advisor import GpuAdvisor
    from dumont_core.market.collector import PriceCollector
    from dumont_core.market.offers import OfferBook
    from dumont_core.market.repository import MarketRepository
    from dumont_core.market.service import MarketService


@repository
def market_repository() -> MarketRepository:
    from dumont_core.market.repository import MarketRepository

    settings = load_settings(MarketSettings)
    return MarketRepository(
        point_retention=timedelta(days=settings.market_point_retention_days),
        rollup_retention=timedelta(days=settings.market_rollup_retention_days),
    )


@provided
def price_collector() -> PriceCollector:
    from dumont_core import composition
    from dumont_core.market.collector import PriceCollector
    from dumont_core.platform.clock import utc_now

    return PriceCollector(
        providers=[composition.gpu_provider()], repository=market_repository(), clock=utc_now
    )


@provided
def market() -> MarketService:
    from dumont_core.market.service import MarketService
    from dumont_core.platform.clock import utc_now

    return MarketService(
        repository=market_repository(), clock=utc_now, offers=offer_book(), uptimes=uptimes()
    )


@repository
def uptime_repository() -> UptimeRepository:
    from dumont_core.instances.uptime import UptimeRepository

    return UptimeRepository()


@provided
def uptimes() -> UptimeService:
    """What our machines lived through at each provider: tallied by the instances, read by the market."""
    from dumont_core.instances.uptime import UptimeService

    return UptimeService(repository=uptime_repository())


@provided
def offer_book() -> OfferBook:
    """Live offers, reused for `OFFER_CACHE_SECONDS` by the warm function that asked."""
    from dumont_core import composition
    from dumont_core.market.offers import OfferBook

    ttl = load_settings(MarketSettings).offer_cache_seconds
    return OfferBook(providers=[composition.gpu_provider()], ttl_seconds=ttl)


@provided
def gpu_advisor() -> GpuAdvisor:
    from dumont_core.market.advisor import GpuAdvisor

    return GpuAdvisor(offers=offer_book())
