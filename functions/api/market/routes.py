"""The market: prices now, their history and forecasts (`/api/v1/market/…`), and the older documents'
market metrics and predictions (`/api/metrics/market`, `/api/metrics/predictions/{gpu_name}`)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from api.market.schemas import (
    INSUFFICIENT_HISTORY,
    ForecastView,
    GpuName,
    GpuTypeQuery,
    HistoryView,
    Interval,
    LegacyForecastView,
    MarketPriceView,
    MarketSummaryView,
    Period,
    ProvidersView,
    RegionQuery,
)
from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import Envelope
from dumont_core import composition
from dumont_core.market.tasks import display_name
from dumont_core.platform.errors import ValidationFailed
from dumont_core.providers.catalog import find_gpu_type, find_region, known_gpu_type_ids, known_region_ids

routes = DomainRoutes(tag="Market")
PERMISSION = "instances.view"
"""Whoever may see the team's instances may see what renting them costs."""


def _refused(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"Invalid request: {field}: {message}", details={"fields": [{"field": field, "message": message}]}
    )


def gpu_type_of(spelling: str, field: str = "gpu_type") -> str:
    gpu = find_gpu_type(spelling)
    if gpu is None:
        raise _refused(field, f"unknown GPU type {spelling!r}; use one of {', '.join(known_gpu_type_ids())}")
    return gpu.id


def region_of(spelling: str | None) -> str | None:
    if spelling is None:
        return None
    region = find_region(spelling)
    if region is None:
        raise _refused("region", f"unknown region {spelling!r}; use one of {', '.join(known_region_ids())}")
    return region.id


@routes.operation("GET", "/api/v1/market/prices", Envelope[list[MarketPriceView]], PERMISSION, errors=(400,))
def prices(_: Caller, gpu_type: GpuTypeQuery = None, region: RegionQuery = None) -> Response[str]:
    """Prices now

    What each GPU type costs per GPU-hour at each provider, as last collected: lowest, 10th percentile
    and median, on-demand and interruptible apart, and how many offers and GPUs are available, for all
    regions together and each region. Filter by `gpu_type` and `region`."""
    found = composition.market().prices(gpu_type_of(gpu_type) if gpu_type else None, region_of(region))
    views = [MarketPriceView.model_validate(point) for point in found]
    return json_response(Envelope[list[MarketPriceView]](data=views))


@routes.operation("GET", "/api/v1/market/history", Envelope[HistoryView], PERMISSION, errors=(400,))
def history(
    _: Caller,
    gpu_type: Annotated[str, Query(max_length=64, description="A GPU type in any spelling")],
    region: RegionQuery = None,
    period: Annotated[Period, Query(description="How far back")] = "24h",
    interval: Annotated[
        Interval, Query(description="Between points; under 1h only for periods up to 24h, 1d for 1y")
    ] = "1h",
) -> Response[str]:
    """Price history

    A GPU type's prices over `period`, one point per `interval`: each collection's prices are kept a
    week, hourly and daily rollups a year; a year is read by the day. An interval in which no price
    could be collected is a gap, never a zero."""
    gpu = gpu_type_of(gpu_type)
    where = region_of(region)
    points = composition.market().history(gpu, where, period, interval)
    view = HistoryView(gpu_type=gpu, region=where or "all", period=period, interval=interval, points=points)
    return json_response(Envelope[HistoryView](data=view))


@routes.operation("GET", "/api/v1/market/predictions", Envelope[ForecastView], PERMISSION, errors=(400,))
def predictions(
    _: Caller,
    gpu_type: Annotated[str, Query(max_length=64, description="A GPU type in any spelling")],
    region: RegionQuery = None,
) -> Response[str]:
    """Price predictions

    Forecasts 1, 6 and 24 hours ahead from the stored history, each with the error a rolling-origin
    backtest over the last two days measured, beside the naive forecast's; `confidence` is the measured
    share of prices that fell inside intervals made the same way. With less than a day of prices the
    status is `insufficient_history`. Waiting is recommended only for a drop larger than the forecast's
    own error."""
    found = composition.market().forecast(gpu_type_of(gpu_type), region_of(region))
    return json_response(Envelope[ForecastView](data=ForecastView.model_validate(found)))


@routes.operation("GET", "/api/metrics/predictions/{gpu_name}", LegacyForecastView, PERMISSION, errors=(400,))
def legacy_predictions(_: Caller, gpu_name: GpuName) -> Response[str]:
    """Price predictions (older shape)

    The forecast of `GET /api/v1/market/predictions` in the older documents' shape: the GPU by its name
    ("RTX 4090"), `next_1h`, `next_6h` and `next_24h`, each with its measured confidence."""
    found = composition.market().forecast(gpu_type_of(gpu_name, "gpu_name"), None)
    by_hours = {horizon.hours: horizon for horizon in found.horizons}
    view = LegacyForecastView(
        gpu_name=display_name(found.gpu_type),
        current_price=found.current_price,
        predictions={
            f"next_{hours}h": {
                "price": horizon.price,
                "confidence": horizon.confidence if horizon.confidence is not None else INSUFFICIENT_HISTORY,
            }
            for hours, horizon in by_hours.items()
        },
        recommendation=found.recommendation,
        model_accuracy=found.model_accuracy if found.model_accuracy is not None else INSUFFICIENT_HISTORY,
        naive_accuracy=found.naive_accuracy if found.naive_accuracy is not None else INSUFFICIENT_HISTORY,
        beats_naive=found.beats_naive,
    )
    return json_response(view)


@routes.operation("GET", "/api/metrics/market", MarketSummaryView, PERMISSION)
def market(_: Caller) -> Response[str]:
    """Market now

    GPUs available across the market, the mean change of prices over 24 hours, and the GPU types whose
    prices rose most, by the names the older documents use ("RTX 4090")."""
    summary = composition.market().summary()
    trending = [display_name(gpu_type) for gpu_type in summary.trending_gpus]
    return json_response(
        MarketSummaryView.model_validate(summary.model_copy(update={"trending_gpus": trending}))
    )


@routes.operation("GET", "/api/metrics/providers", ProvidersView, PERMISSION)
def providers(_: Caller) -> Response[str]:
    """Providers

    Each provider's mean price per GPU-hour from our price collection (ours), its hosts' reliability as it
    scores them (the provider's own), and `uptime_percent` from what our own machines there lived through
    over 30 days, interruptions included (ours; null with the reason when they have no history). A
    provider that cannot be asked for offers now keeps our figures; its own are null, with the reason."""
    standings = composition.market().providers()
    return json_response(ProvidersView.model_validate({"providers": standings}))
