"""What the market domain stores and answers: prices per GPU-hour by GPU type, region and provider,
collected on a schedule, and what a collection did."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from dumont_core.platform.models import DomainModel

ALL_REGIONS = "all"
"""The slice of a price point that counts every offer of its GPU type, wherever its host is."""


class PriceStats(DomainModel):
    """Prices per GPU-hour in USD among the offers of one slice of the market."""

    lowest: float
    p10: float = Field(description="The 10th percentile: a price a patient renter finds")
    median: float


class MarketSlice(DomainModel):
    """The offers of one GPU type in one region (or `all`) at one provider, at one moment."""

    region: str
    on_demand: PriceStats | None
    interruptible: PriceStats | None = Field(
        description="The lowest bids hosts accept for interruptible (spot) rental; null when none offers it"
    )
    offers_available: int
    gpus_available: int


class PricePoint(DomainModel):
    """One collection's look at one GPU type at one provider: a slice per region and one for all, or a
    gap, when the provider could not be asked (never zeros)."""

    gpu_type: str
    provider: str
    at: datetime
    slices: list[MarketSlice] = []
    gap: str | None = None
    """Why nothing was collected; None when the provider answered."""

    def slice(self, region: str = ALL_REGIONS) -> MarketSlice | None:
        return next((item for item in self.slices if item.region == region), None)


class CollectionReport(DomainModel):
    at: datetime
    provider_calls: int
    points: int
    gaps: list[str]
    """`provider:gpu_type` of each GPU type a provider could not be asked about."""
    hours_rolled_up: int


class HistoryPoint(DomainModel):
    """The market of one GPU type over one interval: the lowest price seen, the mean of the others."""

    timestamp: datetime
    on_demand: PriceStats | None
    interruptible: PriceStats | None
    offers_available: int | None
    gpus_available: int | None
    gap: bool = Field(description="True when no price could be collected in this interval")


class HorizonForecast(DomainModel):
    hours: int
    price: float
    low: float | None = Field(description="Bottom of the prediction interval; null until it can be measured")
    high: float | None
    confidence: float | None = Field(
        description="Measured: the share of backtested prices that fell inside intervals made this way"
    )
    model_error: float | None = Field(description="Backtested mean absolute percentage error (0.05 is 5%)")
    naive_error: float | None = Field(description="The same for the naive forecast (the last price stays)")


class Forecast(DomainModel):
    gpu_type: str
    region: str
    at: datetime
    status: str = Field(description="`ok`, or `insufficient_history` with less than a day of prices")
    current_price: float | None = Field(description="Median on-demand price per GPU-hour now")
    history_hours: int
    horizons: list[HorizonForecast]
    model_accuracy: float | None = Field(description="1 - the model's backtested error; null without history")
    naive_accuracy: float | None = Field(description="1 - the naive forecast's backtested error")
    beats_naive: bool | None
    recommendation: str


class MarketSummary(DomainModel):
    at: datetime
    total_gpus_available: int
    avg_price_change_24h: float | None = Field(description="Percent, the mean over GPU types")
    trending_gpus: list[str] = Field(description="GPU types whose price rose most over 24 hours")


class ProviderStanding(DomainModel):
    """A provider as the market shows it; each figure says whose it is."""

    name: str
    reliability_score: float | None = Field(description="0-1, the mean of the provider's own host scores")
    reliability_source: str
    avg_price: float | None = Field(description="Mean over GPU types of the median price per GPU-hour")
    avg_price_source: str
    uptime_percent: float | None = Field(
        description="Of the time our instances wanted one of its machines over the last 30 days, the share "
        "they had one (run time against time from each machine's death until it was replaced); null, with "
        "the reason in `uptime_source`, when our machines have no history there"
    )
    uptime_source: str
    interruptions: int | None = Field(
        default=None, description="Interruptions our machines there lived through over the same days"
    )
    offers_available: int | None = Field(
        description="Its offers now; null, with the reason in `reliability_source`, when it cannot be asked"
    )
