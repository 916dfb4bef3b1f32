"""GPU and region spellings resolve to the ids we store; unknown ones resolve to nothing."""

from __future__ import annotations

import pytest

from dumont_core.providers.catalog import (
    find_gpu_type,
    find_region,
    gpu_type_for_provider_name,
    known_gpu_type_ids,
    known_region_ids,
    region_for_geolocation,
)

GPU_SPELLINGS = {
    "RTX_4090": [
        "RTX 4090",
        "RTX4090",
        "rtx_4090",
        "rtx-4090",
        "RTX_4090",
        "NVIDIA GeForce RTX 4090",
        "GeForce RTX 4090",
        "  rtx 4090 ",
    ],
    "RTX_3090": ["RTX 3090"],
    "A100": ["A100 SXM4", "A100 PCIE", "a100"],
    "H100": ["H100 SXM", "H100 NVL"],
    "RTX_A6000": ["RTX A6000"],
    "T4": ["Tesla T4"],
    "A10": ["A10"],
}
REGION_SPELLINGS = {
    "us-east": ["us-east", "US-East", "us_east", "US EAST"],
    "eu-central": [" eu-central "],
    "eu-west": ["EU_West"],
    "asia-southeast": ["asia-southeast"],
}


def spelled(spellings: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Each spelling with the id it resolves to."""
    return [(spelling, canonical) for canonical, each in spellings.items() for spelling in each]


@pytest.mark.parametrize(("spelling", "gpu_id"), spelled(GPU_SPELLINGS))
def test_gpu_spellings_resolve_to_the_canonical_id(spelling: str, gpu_id: str) -> None:
    gpu = find_gpu_type(spelling)

    assert gpu is not None, spelling
    assert gpu.id == gpu_id


def test_similar_names_are_different_gpus() -> None:
    a10, a100 = find_gpu_type("A10"), find_gpu_type("A100")
    rtx_4080, rtx_4090 = find_gpu_type("RTX 4080"), find_gpu_type("RTX 4090")

    assert a10 is not None and a100 is not None
    assert a10.id != a100.id
    assert rtx_4080 is not None and rtx_4090 is not None
    assert rtx_4080.id != rtx_4090.id


@pytest.mark.parametrize("spelling", ["RTX 9090", "GTX 1080", "TPU v4", "", "   ", "4090x"])
def test_gpus_we_do_not_rent_are_unknown(spelling: str) -> None:
    assert find_gpu_type(spelling) is None


def test_provider_names_map_back_to_our_gpu_types() -> None:
    for gpu_id in known_gpu_type_ids():
        gpu = find_gpu_type(gpu_id)
        assert gpu is not None
        for provider_name in gpu.provider_names:
            found = gpu_type_for_provider_name(provider_name)
            assert found is not None and found.id == gpu_id, provider_name


@pytest.mark.parametrize(("spelling", "region_id"), spelled(REGION_SPELLINGS))
def test_region_spellings_resolve_to_the_canonical_id(spelling: str, region_id: str) -> None:
    region = find_region(spelling)

    assert region is not None, spelling
    assert region.id == region_id


@pytest.mark.parametrize("spelling", ["mars-north", "useast", "", "us-east-1"])
def test_unknown_regions_are_unknown(spelling: str) -> None:
    assert find_region(spelling) is None


def test_every_region_id_is_its_own_spelling() -> None:
    for region_id in known_region_ids():
        region = find_region(region_id)
        assert region is not None and region.id == region_id


@pytest.mark.parametrize(
    ("geolocation", "region_id"),
    [
        ("Texas, US", "us-central"),
        ("TX, US", "us-central"),
        ("New York, US", "us-east"),
        ("new york, us", "us-east"),
        ("NY, US", "us-east"),
        ("District of Columbia, US", "us-east"),
        ("California, US", "us-west"),
        ("CA, US", "us-west"),
        ("Washington, US", "us-west"),
        ("Quebec, CA", "ca-central"),
        ("CA", "ca-central"),
        ("Bavaria, DE", "eu-central"),
        ("DE", "eu-central"),
        ("England, GB", "eu-west"),
        ("Sweden, SE", "eu-north"),
        ("Tokyo, JP", "asia-east"),
        ("SG", "asia-southeast"),
        ("New South Wales, AU", "oceania"),
        ("Sao Paulo, BR", "sa-east"),
    ],
)
def test_host_locations_map_to_regions(geolocation: str, region_id: str) -> None:
    assert region_for_geolocation(geolocation) == region_id


@pytest.mark.parametrize(
    "geolocation",
    [None, "", " , ", "US", "Atlantis, US", "Nowhere, ZZ", "Lagos, NG", "Germany"],
)
def test_places_we_cannot_locate_map_to_no_region(geolocation: str | None) -> None:
    assert region_for_geolocation(geolocation) is None
