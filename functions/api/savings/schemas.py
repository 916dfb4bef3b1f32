"""Answers of the savings routes (seed 002's shapes; the `/api/v1/savings` routes wrap them in the v1
envelope)."""

from __future__ import annotations

from api.schemas import View
from dumont_core.savings.models import Comparison, Dashboard, GpuSavings, MonthSavings, Summary


class DashboardView(View, Dashboard):
    """All-time savings against AWS and their return, and a month at the current burn against AWS."""


class GpuSavingsView(View, GpuSavings):
    """One GPU type's GPU-hours over the period, what they cost here and what they would on AWS."""


class SummaryView(View, Summary):
    """A period's costs here and at AWS, GCP and Azure for the same GPU-hours, and what hibernation saved."""


class MonthSavingsView(View, MonthSavings):
    """One calendar month's cost here and on AWS."""


class SavingsHistoryView(View):
    """The last months' savings against AWS, this month first."""

    history: list[MonthSavingsView]


class BreakdownView(View):
    """A period's GPU-hours and costs by GPU type; they add up to the period's summary."""

    period: str
    breakdown_by_gpu: list[GpuSavingsView]


class ComparisonView(View, Comparison):
    """One GPU an hour here and at each hyperscaler, with the instance types compared and why."""
