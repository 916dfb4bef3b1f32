"""Live offers in our shape: asked of the provider when a user looks, reused for a short while, filtered,
sorted and paged here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import Field

from dumont_core.platform.errors import ServiceUnavailable
from dumont_core.platform.models import DomainModel
from dumont_core.providers.catalog import GPU_TYPES, GpuType, gpu_type_for_provider_name
from dumont_core.providers.models import GpuProvider, Offer, OfferQuery, ProviderError

OFFERS_PER_GPU_TYPE = 500
RELIABILITY_SCALE = 5.0
"""Reliability is answered on a 0-5 scale; providers score hosts 0-1."""


class OfferSort(StrEnum):
    PRICE = "price"
    PRICE_PER_GPU = "price_per_gpu"
    RELIABILITY = "reliability"
    VRAM = "vram"


class MarketOffer(DomainModel):
    offer_id: int
    provider: str
    gpu_type: str
    gpu_name: str
    num_gpus: int
    gpu_memory_gb: float
    price_per_hour: float = Field(description="On-demand, all GPUs, in USD")
    price_per_gpu_hour: float
    interruptible_price_per_hour: float | None = Field(
        description="The lowest bid the host accepts for interruptible rental; null when it offers none"
    )
    interruptible_price_per_gpu_hour: float | None
    reliability: float = Field(description="0-5, from the provider's own score of the host")
    region: str | None
    geolocation: str | None
    disk_space_gb: float


class OfferFilter(DomainModel):
    gpu_type: str | None = None
    region: str | None = None
    min_gpus: int = 1
    min_vram_gb: float = 0
    max_price: float | None = None
    """Per hour, at the price the offer is wanted at (the bid when interruptible)."""
    min_reliability: float = 0
    """On the 0-5 scale."""
    interruptible: bool | None = None
    """True: offers that can be rented interruptible, priced at their bid; False: on-demand prices."""
    sort: OfferSort = OfferSort.PRICE


def market_offer(provider: str, gpu: GpuType, offer: Offer) -> MarketOffer:
    bid = offer.min_bid_per_hour
    return MarketOffer(
        offer_id=offer.offer_id,
        provider=provider,
        gpu_type=gpu.id,
        gpu_name=offer.gpu_name,
        num_gpus=offer.num_gpus,
        gpu_memory_gb=offer.gpu_memory_gb,
        price_per_hour=round(offer.price_per_hour, 4),
        price_per_gpu_hour=round(offer.price_per_hour / offer.num_gpus, 4),
        interruptible_price_per_hour=round(bid, 4) if bid is not None else None,
        interruptible_price_per_gpu_hour=round(bid / offer.num_gpus, 4) if bid is not None else None,
        reliability=round(offer.reliability * RELIABILITY_SCALE, 2),
        region=offer.region,
        geolocation=offer.geolocation,
        disk_space_gb=offer.disk_space_gb,
    )


def wanted_price(offer: MarketOffer, interruptible: bool | None) -> float:
    if interruptible and offer.interruptible_price_per_hour is not None:
        return offer.interruptible_price_per_hour
    return offer.price_per_hour


def matches(offer: MarketOffer, wanted: OfferFilter) -> bool:
    checks = (
        wanted.gpu_type in (None, offer.gpu_type),
        wanted.region in (None, offer.region),
        offer.num_gpus >= wanted.min_gpus,
        offer.gpu_memory_gb >= wanted.min_vram_gb,
        offer.reliability >= wanted.min_reliability,
        not wanted.interruptible or offer.interruptible_price_per_hour is not None,
        wanted.max_price is None or wanted_price(offer, wanted.interruptible) <= wanted.max_price,
    )
    return all(checks)


def sorted_offers(offers: Sequence[MarketOffer], wanted: OfferFilter) -> list[MarketOffer]:
    keys: dict[OfferSort, Callable[[MarketOffer], tuple[float, int]]] = {
        OfferSort.PRICE: lambda offer: (wanted_price(offer, wanted.interruptible), offer.offer_id),
        OfferSort.PRICE_PER_GPU: lambda offer: (
            wanted_price(offer, wanted.interruptible) / offer.num_gpus,
            offer.offer_id,
        ),
        OfferSort.RELIABILITY: lambda offer: (-offer.reliability, offer.offer_id),
        OfferSort.VRAM: lambda offer: (-offer.gpu_memory_gb * offer.num_gpus, offer.offer_id),
    }
    return sorted(offers, key=keys[wanted.sort])


@dataclass
class OfferBook:
    """Every offer of each GPU type at each provider, asked of the provider at most once per `ttl_seconds`
    per GPU type (in this process). A provider that cannot answer adds nothing; when nothing could be
    asked at all, the answer is 503, never an empty market."""

    providers: Sequence[GpuProvider]
    ttl_seconds: float
    monotonic: Callable[[], float] = time.monotonic
    _cache: dict[tuple[str, str], tuple[float, list[MarketOffer]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def offers(self, wanted: OfferFilter) -> list[MarketOffer]:
        gpus = [gpu for gpu in GPU_TYPES if wanted.gpu_type in (None, gpu.id)]
        found = self._asked(self.providers, gpus)
        return sorted_offers([offer for offer in found if matches(offer, wanted)], wanted)

    def of_provider(self, provider: GpuProvider) -> list[MarketOffer]:
        """Every offer of one provider; 503 when it could be asked about no GPU type."""
        return self._asked([provider], GPU_TYPES)

    def _asked(self, providers: Sequence[GpuProvider], gpus: Sequence[GpuType]) -> list[MarketOffer]:
        found: list[MarketOffer] = []
        failures: list[ProviderError] = []
        for provider in providers:
            for gpu in gpus:
                try:
                    found.extend(self._of(provider, gpu))
                except ProviderError as error:
                    failures.append(error)
        if failures and not found:
            raise ServiceUnavailable(
                f"The GPU provider could not be asked for offers ({failures[0].message}); try again shortly"
            )
        return found

    def _of(self, provider: GpuProvider, gpu: GpuType) -> list[MarketOffer]:
        now = self.monotonic()
        with self._lock:
            cached = self._cache.get((provider.name, gpu.id))
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        query = OfferQuery(
            gpu_names=gpu.provider_names, min_reliability=0.0, min_disk_gb=0.0, limit=OFFERS_PER_GPU_TYPE
        )
        offers = [
            market_offer(provider.name, gpu, offer)
            for offer in provider.search_offers(query)
            if gpu_type_for_provider_name(offer.gpu_name) == gpu
        ]
        with self._lock:
            self._cache[(provider.name, gpu.id)] = (now, offers)
        return offers
