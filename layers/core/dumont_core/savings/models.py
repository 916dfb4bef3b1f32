"""What savings are made of: the figures of seed 002, each computed from the billing history."""

from __future__ import annotations

from enum import StrEnum

from dumont_core.platform.models import DomainModel

HOURS_PER_MONTH = 730.0
"""A month at a given burn, as cloud price lists count it (8,760 hours a year / 12)."""


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class GpuSavings(DomainModel):
    gpu_type: str
    hours: float
    """GPU-hours billed: the hours each instance ran times its GPUs."""
    cost_dumont: float
    cost_aws: float
    savings: float


class Summary(DomainModel):
    period: str
    first_day: str
    last_day: str
    total_hours: float
    total_cost_dumont: float
    total_cost_aws: float
    total_cost_gcp: float
    total_cost_azure: float
    savings_vs_aws: float
    savings_percentage: float
    roi_percent: float
    auto_hibernate_savings: float
    auto_hibernate_hours: float
    breakdown_by_gpu: list[GpuSavings]


class Dashboard(DomainModel):
    total_saved_usd: float
    total_cost_dumont: float
    monthly_burn: float
    aws_equivalent: float
    savings_percent: float
    roi_percent: float


class MonthSavings(DomainModel):
    month: str
    total_cost_dumont: float
    total_cost_aws: float
    savings_vs_aws: float


class Comparison(DomainModel):
    gpu_type: str
    dumont_hourly: float | None
    """The market's lowest on-demand price for one such GPU an hour among the latest collected (with the
    margin); before any collection, what the team last paid for one; None when neither is known."""
    dumont_source: str | None = None
    """Where `dumont_hourly` comes from: `market` (the latest collected prices) or `paid` (the team's
    history); None when it is None."""
    aws_hourly: float | None
    gcp_hourly: float | None
    azure_hourly: float | None
    savings_per_hour: float | None
    savings_percent: float | None
    aws_instance_type: str | None
    gcp_instance_type: str | None
    azure_instance_type: str | None
    why: str
    source_date: str
