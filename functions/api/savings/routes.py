"""Savings (`/api/savings/…` in seed 002's shapes, `/api/v1/savings/…` in the v1 envelope): what the team's
use would have cost on AWS, GCP and Azure."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from api.instances.schemas import canonical_gpu_type
from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.savings.schemas import (
    BreakdownView,
    ComparisonView,
    DashboardView,
    GpuSavingsView,
    MonthSavingsView,
    SavingsHistoryView,
    SummaryView,
)
from api.schemas import Envelope
from dumont_core import composition
from dumont_core.platform.errors import ValidationFailed
from dumont_core.platform.identity import Principal
from dumont_core.savings.models import Period

routes = DomainRoutes(tag="Savings")

PeriodQuery = Annotated[Period, Query(description="This day, ISO week, month or year (UTC)")]
MonthsQuery = Annotated[int, Query(ge=1, le=36, description="How many months, this one first")]
GpuType = Annotated[str, Path(max_length=64, description="A GPU type we rent: RTX_4090, `RTX 4090`, A100…")]


def dashboard(caller: Principal) -> DashboardView:
    return DashboardView.model_validate(composition.savings().dashboard(caller))


def summary(caller: Principal, period: Period) -> SummaryView:
    return SummaryView.model_validate(composition.savings().summary(caller, period))


def history(caller: Principal, months: int) -> SavingsHistoryView:
    months_saved = composition.savings().history(caller, months)
    return SavingsHistoryView(history=[MonthSavingsView.model_validate(month) for month in months_saved])


def breakdown(caller: Principal, period: Period) -> BreakdownView:
    found = composition.savings().summary(caller, period)
    return BreakdownView(
        period=found.period,
        breakdown_by_gpu=[GpuSavingsView.model_validate(gpu) for gpu in found.breakdown_by_gpu],
    )


def comparison(caller: Principal, gpu_type: str) -> ComparisonView:
    try:
        canonical = canonical_gpu_type(gpu_type)
    except ValueError as error:
        fields = [{"field": "gpu_type", "message": str(error)}]
        raise ValidationFailed(str(error), details={"fields": fields}) from None
    return ComparisonView.model_validate(composition.savings().comparison(caller, canonical))


# Seed 002's routes, answered as it shows them.


@routes.operation("GET", "/api/savings/dashboard", DashboardView, "billing.view")
def get_dashboard(caller: Caller) -> Response[str]:
    """Savings dashboard

    All-time savings against AWS on demand (`total_saved_usd`) and their return (`roi_percent`: savings
    per dollar spent here), and a month (730 hours) of the running instances here (`monthly_burn`)
    against the same GPUs on AWS (`aws_equivalent`)."""
    return json_response(dashboard(caller))


@routes.operation("GET", "/api/savings/summary", SummaryView, "billing.view", errors=(400,))
def get_summary(caller: Caller, period: PeriodQuery = Period.MONTH) -> Response[str]:
    """Savings over a period

    The history's charges over the period (`total_cost_dumont`), the same GPU-hours at AWS, GCP and Azure
    on demand, and what auto-hibernation saved (the machine-hours it gave back, at their price)."""
    return json_response(summary(caller, period))


@routes.operation("GET", "/api/savings/history", SavingsHistoryView, "billing.view", errors=(400,))
def get_history(caller: Caller, months: MonthsQuery = 6) -> Response[str]:
    """Savings month by month"""
    return json_response(history(caller, months))


@routes.operation("GET", "/api/savings/breakdown", BreakdownView, "billing.view", errors=(400,))
def get_breakdown(caller: Caller, period: PeriodQuery = Period.MONTH) -> Response[str]:
    """Savings by GPU type

    Adds up to the period's summary."""
    return json_response(breakdown(caller, period))


@routes.operation(
    "GET", "/api/savings/comparison/{gpu_type}", ComparisonView, "billing.view", errors=(400, 404)
)
def get_comparison(caller: Caller, gpu_type: GpuType) -> Response[str]:
    """One GPU an hour here and at AWS, GCP and Azure

    Here: the market's lowest on-demand price for one such GPU an hour among the latest collected (margin
    included), or, before any collection, what your team last paid for one (`dumont_source`: `market`
    or `paid`). There:
    the catalog's on-demand price of each hyperscaler's nearest equivalent, per GPU, with the instance
    type and why."""
    return json_response(comparison(caller, gpu_type))


# The same in the v1 envelope.


@routes.operation("GET", "/api/v1/savings/dashboard", Envelope[DashboardView], "billing.view")
def get_dashboard_v1(caller: Caller) -> Response[str]:
    """Savings dashboard"""
    return json_response(Envelope[DashboardView](data=dashboard(caller)))


@routes.operation("GET", "/api/v1/savings/summary", Envelope[SummaryView], "billing.view", errors=(400,))
def get_summary_v1(caller: Caller, period: PeriodQuery = Period.MONTH) -> Response[str]:
    """Savings over a period"""
    return json_response(Envelope[SummaryView](data=summary(caller, period)))


@routes.operation(
    "GET", "/api/v1/savings/history", Envelope[SavingsHistoryView], "billing.view", errors=(400,)
)
def get_history_v1(caller: Caller, months: MonthsQuery = 6) -> Response[str]:
    """Savings month by month"""
    return json_response(Envelope[SavingsHistoryView](data=history(caller, months)))


@routes.operation("GET", "/api/v1/savings/breakdown", Envelope[BreakdownView], "billing.view", errors=(400,))
def get_breakdown_v1(caller: Caller, period: PeriodQuery = Period.MONTH) -> Response[str]:
    """Savings by GPU type"""
    return json_response(Envelope[BreakdownView](data=breakdown(caller, period)))


@routes.operation(
    "GET",
    "/api/v1/savings/comparison/{gpu_type}",
    Envelope[ComparisonView],
    "billing.view",
    errors=(400, 404),
)
def get_comparison_v1(caller: Caller, gpu_type: GpuType) -> Response[str]:
    """One GPU an hour here and at AWS, GCP and Azure"""
    return json_response(Envelope[ComparisonView](data=comparison(caller, gpu_type)))
