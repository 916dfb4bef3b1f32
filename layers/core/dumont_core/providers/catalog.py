"""What we rent: GPU types and regions, and every spelling users and providers use for them.

Users write `"RTX 4090"`, `"RTX_4090"`, `RTX4090` or `rtx-4090`; Vast.ai writes `"RTX 4090"` and
locates hosts as `"Texas, US"`. The canonical ids (`RTX_4090`, `us-east`) are what we store and
return.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuType:
    id: str
    full_name: str
    provider_names: tuple[str, ...]
    """Names Vast.ai uses in `gpu_name` for this type (several for SXM/PCIe variants)."""


GPU_TYPES: tuple[GpuType, ...] = (
    GpuType("RTX_4090", "NVIDIA GeForce RTX 4090", ("RTX 4090",)),
    GpuType("RTX_4080", "NVIDIA GeForce RTX 4080", ("RTX 4080",)),
    GpuType("RTX_3090", "NVIDIA GeForce RTX 3090", ("RTX 3090",)),
    GpuType("RTX_A6000", "NVIDIA RTX A6000", ("RTX A6000",)),
    GpuType("A100", "NVIDIA A100", ("A100 SXM4", "A100 PCIE", "A100X")),
    GpuType("H100", "NVIDIA H100", ("H100 SXM", "H100 PCIE", "H100 NVL")),
    GpuType("L40S", "NVIDIA L40S", ("L40S",)),
    GpuType("A10", "NVIDIA A10", ("A10",)),
    GpuType("T4", "NVIDIA Tesla T4", ("Tesla T4",)),
    GpuType("V100", "NVIDIA Tesla V100", ("Tesla V100",)),
)


def _squash(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


_GPU_BY_SPELLING: dict[str, GpuType] = {}
for _gpu in GPU_TYPES:
    for _spelling in (_gpu.id, _gpu.full_name, *_gpu.provider_names):
        _GPU_BY_SPELLING[_squash(_spelling)] = _gpu
    # "NVIDIA GeForce RTX 4090" and "GeForce RTX 4090" are common too.
    _GPU_BY_SPELLING[_squash(_gpu.full_name.removeprefix("NVIDIA "))] = _gpu


def find_gpu_type(spelling: str) -> GpuType | None:
    """The GPU type a user or provider spelling refers to, or None when we do not rent it."""
    return _GPU_BY_SPELLING.get(_squash(spelling))


def gpu_type_for_provider_name(provider_gpu_name: str) -> GpuType | None:
    return _GPU_BY_SPELLING.get(_squash(provider_gpu_name))


def known_gpu_type_ids() -> list[str]:
    return [gpu.id for gpu in GPU_TYPES]


@dataclass(frozen=True)
class Region:
    id: str
    countries: tuple[str, ...] = ()
    us_states: tuple[str, ...] = ()


_US_EAST_STATES = [
    "ME",
    "NH",
    "VT",
    "MA",
    "RI",
    "CT",
    "NY",
    "NJ",
    "PA",
    "DE",
    "MD",
    "DC",
    "VA",
    "WV",
    "NC",
    "SC",
    "GA",
    "FL",
    "OH",
    "MI",
    "IN",
    "KY",
    "TN",
    "AL",
    "MS",
]
_US_CENTRAL_STATES = ["WI", "IL", "MN", "IA", "MO", "AR", "LA", "ND", "SD", "NE", "KS", "OK", "TX"]
_US_WEST_STATES = ["MT", "WY", "CO", "NM", "ID", "UT", "AZ", "NV", "WA", "OR", "CA", "AK", "HI"]

REGIONS: tuple[Region, ...] = (
    Region("us-east", us_states=tuple(_US_EAST_STATES)),
    Region("us-central", us_states=tuple(_US_CENTRAL_STATES)),
    Region("us-west", us_states=tuple(_US_WEST_STATES)),
    Region("ca-central", countries=("CA",)),
    Region("eu-west", countries=("GB", "IE", "FR", "NL", "BE", "LU", "ES", "PT")),
    Region("eu-central", countries=("DE", "PL", "CZ", "AT", "CH", "IT", "SK", "HU", "SI", "RO", "BG")),
    Region("eu-north", countries=("SE", "NO", "FI", "DK", "IS", "EE", "LV", "LT")),
    Region("asia-east", countries=("JP", "KR", "TW", "HK", "CN")),
    Region("asia-southeast", countries=("SG", "TH", "VN", "MY", "ID", "PH", "IN")),
    Region("oceania", countries=("AU", "NZ")),
    Region("sa-east", countries=("BR", "AR", "CL", "CO", "UY")),
)
_REGION_BY_ID = {region.id: region for region in REGIONS}

_US_STATE_NAMES = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA",
    "COLORADO": "CO", "CONNECTICUT": "CT", "DELAWARE": "DE", "FLORIDA": "FL", "GEORGIA": "GA",
    "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS",
    "KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA",
    "MICHIGAN": "MI", "MINNESOTA": "MN", "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT",
    "NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ",
    "NEW MEXICO": "NM", "NEW YORK": "NY", "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND",
    "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR", "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI",
    "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD", "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT",
    "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA", "WEST VIRGINIA": "WV",
    "WISCONSIN": "WI", "WYOMING": "WY", "DISTRICT OF COLUMBIA": "DC",
}  # fmt: skip


def find_region(spelling: str) -> Region | None:
    """`US-East`, `us_east` and `us east` all name `us-east`."""
    normalized = re.sub(r"[\s_]+", "-", spelling.strip().lower())
    return _REGION_BY_ID.get(normalized)


def known_region_ids() -> list[str]:
    return [region.id for region in REGIONS]


def region_for_geolocation(geolocation: str | None) -> str | None:
    """Region id of a Vast.ai host location such as `"Texas, US"` or `"Quebec, CA"`.

    The last comma-separated part is the ISO country code; for the US the part before it is the
    state, by name or by code. Unknown places map to None rather than to a guess.
    """
    if not geolocation:
        return None
    parts = [part.strip().upper() for part in geolocation.split(",") if part.strip()]
    if not parts:
        return None
    country = parts[-1]
    if country == "US":
        if len(parts) < 2:
            return None
        state = _US_STATE_NAMES.get(parts[-2], parts[-2])
        for region in REGIONS:
            if state in region.us_states:
                return region.id
        return None
    for region in REGIONS:
        if country in region.countries:
            return region.id
    return None
