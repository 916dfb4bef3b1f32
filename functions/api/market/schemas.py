"""Answers of the market routes, in the v1 envelope and in the older documents' shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import Field

from api.schemas import View
from dumont_core.market.models import (
    HistoryPoint,
    HorizonForecast,
    MarketSlice,
    PriceStats,
    ProviderStanding,
)

INSUFFICIENT_HISTORY = "insufficient_history"

GpuTypeQuery = Annotated[
    str | None, Query(max_length=64, description="A GPU type in any spelling: RTX_4090, `RTX 4090`, rtx4090")
]
RegionQuery = Annotated[str | None, Query(max_length=32, description="A region id such as us-east")]
GpuName = Annotated[str, Path(max_length=64, description="A GPU type in any spelling, e.g. `RTX 4090`")]
Period = Literal["1h", "6h", "24h", "7d", "30d", "1y"]
Interval = Literal["5m", "15m", "1h", "6h", "1d"]


class PriceStatsView(View, PriceStats):
    """Prices per GPU-hour in USD."""


class MarketSliceView(View, MarketSlice):
    """One region's offers (or `all` of them) at one provider."""


class MarketPriceView(View):
    """What a GPU type costs now at one provider, by region, as last collected."""

    gpu_type: str
    provider: str
    timestamp: datetime = Field(validation_alias="at")
    regions: list[MarketSliceView] = Field(validation_alias="slices")


class HistoryPointView(View, HistoryPoint):
    """One interval of a GPU type's market."""


class HistoryView(View):
    """A GPU type's prices over a period, oldest first; intervals nothing could be collected in are gaps."""

    gpu_type: str
    region: str
    period: str
    interval: str
    points: list[HistoryPointView]


class HorizonForecastView(View, HorizonForecast):
    """A forecast some hours ahead, with its measured error and interval."""


class ForecastView(View):
    """Forecasts of a GPU type's median on-demand price per GPU-hour, 1, 6 and 24 hours ahead, each with
    the error a backtest measured, beside the naive forecast's (the last price stays)."""

    gpu_type: str
    region: str
    timestamp: datetime = Field(validation_alias="at")
    status: str
    current_price: float | None
    history_hours: int
    horizons: list[HorizonForecastView]
    model_accuracy: float | None
    naive_accuracy: float | None
    beats_naive: bool | None
    recommendation: str


class LegacyHorizonView(View):
    price: float
    confidence: float | Literal["insufficient_history"]


class LegacyForecastView(View):
    """A GPU type's price forecast, as the older documents show it, with the naive forecast's accuracy
    beside the model's; `insufficient_history` instead of a number with less than a day of prices."""

    gpu_name: str = Field(description='The GPU\'s name, as in "RTX 4090" or "A100"')
    current_price: float | None
    predictions: dict[str, LegacyHorizonView]
    recommendation: str
    model_accuracy: float | Literal["insufficient_history"]
    naive_accuracy: float | Literal["insufficient_history"]
    beats_naive: bool | None


class MarketSummaryView(View):
    """The spot market at a glance."""

    timestamp: datetime = Field(validation_alias="at")
    total_gpus_available: int
    avg_price_change_24h: float | None = Field(description="Percent, the mean over GPU types")
    trending_gpus: list[str] = Field(
        description='The names ("RTX 4090") of the GPU types whose price rose most over 24 hours'
    )


class ProviderStandingView(View, ProviderStanding):
    """A provider: its price from our collections, its reliability from its own scores."""


class ProvidersView(View):
    """The providers we rent from, each figure with where it comes from."""

    providers: list[ProviderStandingView]
