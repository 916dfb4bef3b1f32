"""The spot market's offers now (`/api/v1/offers`, `/api/v1/offers/{gpu}`), asked of the provider live."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from api.market.routes import PERMISSION, gpu_type_of, region_of
from api.offers.schemas import OfferView
from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import ListEnvelope, PageView
from dumont_core import composition
from dumont_core.market.offers import OfferFilter, OfferSort

routes = DomainRoutes(tag="Offers")


def _answer(
    gpu_type: str | None,
    region: str | None,
    gpus: int,
    min_vram_gb: float,
    max_price: float | None,
    min_reliability: float,
    interruptible: bool | None,
    sort: OfferSort,
    page: int,
    per_page: int,
) -> Response[str]:
    wanted = OfferFilter(
        gpu_type=gpu_type,
        region=region_of(region),
        min_gpus=gpus,
        min_vram_gb=min_vram_gb,
        max_price=max_price,
        min_reliability=min_reliability,
        interruptible=interruptible,
        sort=sort,
    )
    offers = composition.offer_book().offers(wanted)
    shown = offers[(page - 1) * per_page : page * per_page]
    envelope = ListEnvelope[OfferView](
        data=[OfferView.model_validate(offer) for offer in shown],
        meta=PageView(page=page, per_page=per_page, total=len(offers)),
    )
    return json_response(envelope)


Region = Annotated[str | None, Query(max_length=32, description="A region id such as us-east")]
Gpus = Annotated[int, Query(ge=1, le=16, description="At least this many GPUs")]
Vram = Annotated[float, Query(ge=0, le=1024, description="At least this much memory per GPU, in GB")]
MaxPrice = Annotated[
    float | None, Query(gt=0, le=1000, description="At most this per hour (the bid, when interruptible)")
]
Reliability = Annotated[float, Query(ge=0, le=5, description="At least this host reliability, 0-5")]
Interruptible = Annotated[
    bool | None, Query(description="true: offers rentable as interruptible, priced at their lowest bid")
]
Sort = Annotated[OfferSort, Query(description="price (cheapest first), price_per_gpu, reliability, vram")]
Page = Annotated[int, Query(ge=1, le=10_000)]
PerPage = Annotated[int, Query(ge=1, le=100)]


@routes.operation("GET", "/api/v1/offers", ListEnvelope[OfferView], PERMISSION, errors=(400, 503))
def list_offers(
    _: Caller,
    gpu: Annotated[str | None, Query(max_length=64, description="A GPU type in any spelling")] = None,
    gpu_type: Annotated[str | None, Query(max_length=64, description="The same as gpu")] = None,
    region: Region = None,
    gpus: Gpus = 1,
    min_vram_gb: Vram = 0,
    max_price: MaxPrice = None,
    min_reliability: Reliability = 0,
    interruptible: Interruptible = None,
    sort: Sort = OfferSort.PRICE,
    page: Page = 1,
    per_page: PerPage = 20,
) -> Response[str]:
    """Offers

    What the provider offers now, filtered, sorted and paged; answered live, reused for half a minute."""
    spelling = gpu or gpu_type
    chosen = gpu_type_of(spelling, "gpu" if gpu else "gpu_type") if spelling else None
    return _answer(
        chosen, region, gpus, min_vram_gb, max_price, min_reliability, interruptible, sort, page, per_page
    )


@routes.operation("GET", "/api/v1/offers/{gpu}", ListEnvelope[OfferView], PERMISSION, errors=(400, 503))
def offers_of_gpu(
    _: Caller,
    gpu: Annotated[str, Path(max_length=64, description="A GPU type in any spelling, e.g. `RTX 4090`")],
    region: Region = None,
    gpus: Gpus = 1,
    min_vram_gb: Vram = 0,
    max_price: MaxPrice = None,
    min_reliability: Reliability = 0,
    interruptible: Interruptible = None,
    sort: Sort = OfferSort.PRICE,
    page: Page = 1,
    per_page: PerPage = 20,
) -> Response[str]:
    """Offers of one GPU type

    The offers of `GET /api/v1/offers` for one GPU type."""
    return _answer(
        gpu_type_of(gpu, "gpu"),
        region,
        gpus,
        min_vram_gb,
        max_price,
        min_reliability,
        interruptible,
        sort,
        page,
        per_page,
    )
