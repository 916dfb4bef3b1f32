"""What we ask Vast.ai: an offer search whose filters Vast applies itself (so the offers we want are
among those it answers, however many cheaper ones do not fit), and the body that rents an offer."""

from __future__ import annotations

from typing import Any

from dumont_core.providers.catalog import find_region, region_for_geolocation
from dumont_core.providers.models import MachineRequest, Offer, OfferQuery

# Vast's own CLI asks for this runtype with `--jupyter --direct` (its spelling, "direc", is real): SSH
# and Jupyter on ports of the host's public IP, with SSH through Vast's proxy where the host has none.
# SSH runtypes replace the image's entrypoint, so Jupyter runs only when Vast itself starts it, which a
# Jupyter runtype does (on container port 8080, behind the instance's `jupyter_token`).
RUNTYPE = "jupyter_direc ssh_direc ssh_proxy"
JUPYTER_CONTAINER_PORT = 8080
SSH_CONTAINER_PORT = 22

_US_STATE_OVERFETCH = 4
"""Vast filters by country; a region that is part of the US is picked out of a longer answer."""


def search_body(query: OfferQuery) -> dict[str, Any]:
    """The body of `POST /api/v0/bundles/` for `query`, with the names and units Vast's search takes."""
    body: dict[str, Any] = {
        "gpu_name": {"in": list(query.gpu_names)},
        "num_gpus": {"gte": query.num_gpus},
        "reliability": {"gte": query.min_reliability},
        "disk_space": {"gte": query.min_disk_gb},
        "rentable": {"eq": True},
        "rented": {"eq": False},
        "external": {"eq": False},
        # "bid" would make Vast show interruptible prices in `dph_total`; we want the on-demand price
        # there and read the spot floor from `min_bid`, which every offer carries.
        "type": "on-demand",
        # Prices include the disk we will rent with, as Vast works them out for this much storage.
        "allocated_storage": query.min_disk_gb,
        "order": [["dph_total", "asc"]],
        "limit": query.limit * (_US_STATE_OVERFETCH if _narrower_than_countries(query.region) else 1),
    }
    if query.verified_only:
        body["verified"] = {"eq": True}
    if query.max_price_per_hour is not None:
        body["dph_total"] = {"lte": query.max_price_per_hour}
    if query.min_direct_ports > 0:
        body["direct_port_count"] = {"gte": query.min_direct_ports}
    countries = countries_of(query.region)
    if countries:
        body["geolocation"] = {"in": list(countries)}
    return body


def countries_of(region_id: str | None) -> tuple[str, ...]:
    """The two-letter codes Vast's `geolocation` filter takes for one of our regions."""
    region = find_region(region_id) if region_id else None
    if region is None:
        return ()
    return region.countries or ("US",)


def _narrower_than_countries(region_id: str | None) -> bool:
    region = find_region(region_id) if region_id else None
    return region is not None and bool(region.us_states)


def in_region(offer: Offer, region_id: str | None) -> bool:
    """Whether Vast's answer for a country is also in our region (a US one is a set of states)."""
    return region_id is None or region_for_geolocation(offer.geolocation) == region_id


def rent_body(request: MachineRequest) -> dict[str, Any]:
    """The body of `PUT /api/v0/asks/{id}/`, as the CLI's `create instance` sends it."""
    body: dict[str, Any] = {
        "client_id": "me",
        "image": request.image,
        "disk": request.disk_gb,
        "label": request.label,
        "runtype": RUNTYPE,
        "env": {},
        # Fail fast with 410 instead of leaving a paid-for contract waiting for GPUs that someone
        # else holds; the caller then simply tries the next offer.
        "cancel_unavail": True,
    }
    if request.onstart_script is not None:
        body["onstart"] = request.onstart_script
    if request.bid_per_hour is not None:
        # Vast treats any `price` as a bid, so it must be absent for on-demand rentals.
        body["price"] = request.bid_per_hour
    return body
