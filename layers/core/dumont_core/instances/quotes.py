"""What a new machine for an instance would cost an hour: the offer the provisioning workflow would rent
first, asked of the provider the same way, so a team is refused before anything is rented or written
when its balance does not pay an hour of it."""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools import Logger

from dumont_core.instances.models import Instance
from dumont_core.platform.settings import ProviderSettings
from dumont_core.providers.catalog import find_gpu_type
from dumont_core.providers.models import GpuProvider, Offer, OfferQuery, ProviderError

logger = Logger(child=True)


def matching_offers(provider: GpuProvider, instance: Instance, settings: ProviderSettings) -> list[Offer]:
    """The offers a machine for `instance` may be rented from, in the order they are tried."""
    gpu = find_gpu_type(instance.gpu_type)
    if gpu is None:
        return []
    offers = provider.search_offers(
        OfferQuery(
            gpu_names=gpu.provider_names,
            min_reliability=settings.min_host_reliability,
            min_disk_gb=instance.disk_gb,
            limit=settings.offers_to_try * 10,
            num_gpus=instance.num_gpus,
            region=instance.requested_region,
            min_direct_ports=settings.min_direct_ports,
            max_price_per_hour=settings.max_price_per_hour,
        )
    )
    return [
        offer
        for offer in offers
        if offer.num_gpus >= instance.num_gpus
        and (instance.requested_region is None or offer.region == instance.requested_region)
    ]


def bid_for(offer: Offer, settings: ProviderSettings) -> float | None:
    """What we bid an hour for an interruptible offer (its minimum bid and our margin); None: on demand."""
    if offer.min_bid_per_hour is None:
        return None
    return round(offer.min_bid_per_hour * (1 + settings.spot_bid_margin), 4)


def rented_price(offer: Offer, settings: ProviderSettings) -> float:
    """What a machine rented from `offer` is charged an hour: our bid, or the on-demand price."""
    return bid_for(offer, settings) or offer.price_per_hour


@dataclass(frozen=True, kw_only=True)
class OfferQuotes:
    provider: GpuProvider
    settings: ProviderSettings

    def hourly_price(self, instance: Instance) -> float | None:
        """The price an hour of the offer a new machine for `instance` would be rented from first; None
        when none matches or the provider cannot be asked (the workflow then finds none, or asks again)."""
        try:
            offers = matching_offers(self.provider, instance, self.settings)
        except ProviderError as error:
            logger.warning("Could not price a new machine", extra={"why": str(error)})
            return None
        return rented_price(offers[0], self.settings) if offers else None
