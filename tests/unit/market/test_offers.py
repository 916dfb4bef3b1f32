"""Live offers in our shape: filtered, sorted, reused for a short while, and a 503 rather than an empty
market when the provider cannot be asked."""

from __future__ import annotations

import pytest

from dumont_core.market.offers import OfferBook, OfferFilter, OfferSort
from dumont_core.platform.errors import ServiceUnavailable
from dumont_core.providers.models import ProviderUnavailable
from tests.fakes.provider import FakeProvider, offer


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider(
        name="vastai",
        offers=[
            offer(1, price=0.40, min_bid=0.20, region="us-east", reliability=0.99),
            offer(2, price=1.00, min_bid=None, num_gpus=2, region="us-east", reliability=0.90),
            offer(3, price=0.35, min_bid=0.30, region="eu-west", reliability=0.80),
            offer(4, gpu_name="A100 SXM4", price=1.50, min_bid=0.90, region="us-west"),
        ],
    )


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def book(provider: FakeProvider, ticks: Ticks) -> OfferBook:
    return OfferBook(providers=[provider], ttl_seconds=30, monotonic=ticks)


def ids(book: OfferBook, **wanted: object) -> list[int]:
    return [found.offer_id for found in book.offers(OfferFilter.model_validate(wanted))]


def test_offers_are_answered_in_our_shape(book: OfferBook) -> None:
    (two_gpus,) = [found for found in book.offers(OfferFilter(gpu_type="RTX_4090")) if found.offer_id == 2]
    assert two_gpus.price_per_hour == 1.00 and two_gpus.price_per_gpu_hour == 0.50
    assert two_gpus.interruptible_price_per_hour is None
    assert two_gpus.reliability == 4.5
    assert two_gpus.gpu_type == "RTX_4090" and two_gpus.region == "us-east"


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ({}, [3, 1, 2, 4]),
        ({"gpu_type": "A100"}, [4]),
        ({"region": "us-east"}, [1, 2]),
        ({"min_gpus": 2}, [2]),
        ({"min_reliability": 4.5}, [1, 2, 4]),
        ({"max_price": 0.45}, [3, 1]),
        ({"interruptible": True}, [1, 3, 4]),
        ({"interruptible": True, "max_price": 0.25}, [1]),
        ({"sort": OfferSort.PRICE_PER_GPU}, [3, 1, 2, 4]),
        ({"sort": OfferSort.RELIABILITY}, [1, 4, 2, 3]),
    ],
)
def test_filters_and_sorts(book: OfferBook, wanted: dict[str, object], expected: list[int]) -> None:
    assert ids(book, **wanted) == expected


def test_the_provider_is_asked_again_only_after_the_cache_expires(
    book: OfferBook, provider: FakeProvider, ticks: Ticks
) -> None:
    book.offers(OfferFilter(gpu_type="RTX_4090"))
    book.offers(OfferFilter(gpu_type="RTX_4090", region="eu-west"))
    assert len(provider.searches) == 1
    ticks.now += 31
    book.offers(OfferFilter(gpu_type="RTX_4090"))
    assert len(provider.searches) == 2


def test_a_provider_that_cannot_be_asked_is_a_503_not_an_empty_market(
    book: OfferBook, provider: FakeProvider
) -> None:
    provider.fail_next("search_offers", ProviderUnavailable("Vast.ai answered 502"))
    with pytest.raises(ServiceUnavailable, match="502"):
        book.offers(OfferFilter(gpu_type="RTX_4090"))
