"""Savings against AWS, GCP and Azure, from the team's billing history (what it was charged, for how many
GPU-hours of which GPU) and the hyperscalers' catalog, and hibernation's share from its records.

Every figure is traceable: a period's `total_cost_dumont` is the sum of the history's charges over it
(machines and storage, as `total_charged`), its AWS cost the same GPU-hours at the catalog's price of
AWS's equivalent and the same GB-months at object storage's, and the breakdown by GPU adds
up to the summary because both are made of the same lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from dumont_core.billing.models import EntryKind, to_usd
from dumont_core.billing.rollups import ALL_TIME, DAY, MONTH, Rollup
from dumont_core.billing.service import BillingService
from dumont_core.instances.models import InstanceStatus
from dumont_core.instances.service import InstanceService
from dumont_core.market.models import ALL_REGIONS, PricePoint
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.identity import Principal
from dumont_core.savings.catalog import (
    CATALOG_DATE,
    EQUIVALENTS,
    OBJECT_STORAGE_PER_GB_MONTH,
    Cloud,
    hourly,
)
from dumont_core.savings.models import (
    HOURS_PER_MONTH,
    Comparison,
    Dashboard,
    GpuSavings,
    MonthSavings,
    Period,
    Summary,
)
from dumont_core.serverless.models import HibernationRecord

STORAGE_ROW = "storage"
"""The breakdown's row of snapshot storage, so that the rows still add up to the summary."""


class MarketPrices(Protocol):
    """The market's latest collected prices (the market domain's service)."""

    def prices(self, gpu_type: str | None, region: str | None) -> Sequence[PricePoint]: ...


class Hibernations(Protocol):
    def hibernations(self, principal: Principal, days: int) -> list[HibernationRecord]: ...


def percent(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole > 0 else 0.0


def period_bounds(period: Period, today: date) -> tuple[str, date, date]:
    """The period's label (as seed 002 writes it) and its first and last days: today, this ISO week,
    this month, this year."""
    if period == Period.DAY:
        return today.isoformat(), today, today
    if period == Period.WEEK:
        year, week, weekday = today.isocalendar()
        return f"{year}-W{week:02d}", today - timedelta(days=weekday - 1), today
    if period == Period.MONTH:
        return f"{today:%Y-%m}", today.replace(day=1), today
    return f"{today:%Y}", today.replace(month=1, day=1), today


@dataclass(frozen=True)
class Costs:
    """What some charge lines cost here, and what the same GPU-hours would cost at each hyperscaler."""

    hours: float = 0.0
    dumont: float = 0.0
    aws: float = 0.0
    gcp: float = 0.0
    azure: float = 0.0

    @classmethod
    def of(cls, lines: Iterable[Rollup]) -> Costs:
        totals = cls()
        for line in lines:
            paid = to_usd(line.amount_micros)
            if line.kind == EntryKind.STORAGE:
                # Snapshots kept in S3: the same GB-months at object storage's price on every cloud.
                kept = line.gb_months * OBJECT_STORAGE_PER_GB_MONTH
                totals = cls(
                    totals.hours,
                    totals.dumont + paid,
                    totals.aws + kept,
                    totals.gcp + kept,
                    totals.azure + kept,
                )
                continue
            hours, gpus = line.seconds / 3600, line.num_gpus or 1
            gpu = line.gpu_type or ""

            def at(
                cloud: Cloud, gpu: str = gpu, gpus: int = gpus, hours: float = hours, paid: float = paid
            ) -> float:
                price = hourly(gpu, cloud, gpus)
                return paid if price is None else price * hours  # no equivalent: no saving claimed

            totals = cls(
                totals.hours + hours * gpus,
                totals.dumont + paid,
                totals.aws + at(Cloud.AWS),
                totals.gcp + at(Cloud.GCP),
                totals.azure + at(Cloud.AZURE),
            )
        return totals


@dataclass(frozen=True, kw_only=True)
class SavingsService:
    billing: BillingService
    instances: InstanceService
    hibernations: Hibernations
    market: MarketPrices | None = None
    clock: Clock = field(default=utc_now)

    def summary(self, principal: Principal, period: Period) -> Summary:
        now = self.clock()
        label, first, last = period_bounds(period, now.date())
        scope = DAY if period in (Period.DAY, Period.WEEK) else MONTH
        lines = self._charges(principal, scope, first.isoformat(), last.isoformat())
        costs = Costs.of(lines)
        hibernated_hours, hibernation_savings = self._hibernation(principal, first, now)
        return Summary(
            period=label,
            first_day=first.isoformat(),
            last_day=last.isoformat(),
            total_hours=round(costs.hours, 4),
            total_cost_dumont=round(costs.dumont, 6),
            total_cost_aws=round(costs.aws, 6),
            total_cost_gcp=round(costs.gcp, 6),
            total_cost_azure=round(costs.azure, 6),
            savings_vs_aws=round(costs.aws - costs.dumont, 6),
            savings_percentage=percent(costs.aws - costs.dumont, costs.aws),
            roi_percent=percent(costs.aws - costs.dumont, costs.dumont),
            auto_hibernate_savings=round(hibernation_savings, 4),
            auto_hibernate_hours=round(hibernated_hours, 4),
            breakdown_by_gpu=self._breakdown(lines),
        )

    def history(self, principal: Principal, months: int) -> list[MonthSavings]:
        """Each of the last `months` calendar months, this one first."""
        today = self.clock().date()
        first = today.replace(day=1)
        for _ in range(months - 1):
            first = (first - timedelta(days=1)).replace(day=1)
        by_month: dict[str, list[Rollup]] = defaultdict(list)
        for line in self._charges(principal, MONTH, first.isoformat(), today.isoformat()):
            by_month[line.scope.removeprefix(f"{MONTH}#")].append(line)
        history = []
        month = today.replace(day=1)
        for _ in range(months):
            costs = Costs.of(by_month.get(f"{month:%Y-%m}", []))
            history.append(
                MonthSavings(
                    month=f"{month:%Y-%m}",
                    total_cost_dumont=round(costs.dumont, 6),
                    total_cost_aws=round(costs.aws, 6),
                    savings_vs_aws=round(costs.aws - costs.dumont, 6),
                )
            )
            month = (month - timedelta(days=1)).replace(day=1)
        return history

    def dashboard(self, principal: Principal) -> Dashboard:
        """All-time savings and their return, and a month at the current burn against AWS's price."""
        costs = Costs.of(self._charges(principal, ALL_TIME, "", ""))
        running = [i for i in self.instances.list_all(principal) if i.status == InstanceStatus.RUNNING]
        margin = self.billing.meter.margin
        burn = sum((instance.cost_per_hour or 0.0) * (1 + margin) for instance in running)
        aws = 0.0
        for instance in running:
            price = hourly(instance.gpu_type, Cloud.AWS, instance.num_gpus)
            aws += (instance.cost_per_hour or 0.0) * (1 + margin) if price is None else price
        return Dashboard(
            total_saved_usd=round(costs.aws - costs.dumont, 6),
            total_cost_dumont=round(costs.dumont, 6),
            monthly_burn=round(burn * HOURS_PER_MONTH, 2),
            aws_equivalent=round(aws * HOURS_PER_MONTH, 2),
            savings_percent=percent(aws - burn, aws),
            roi_percent=percent(costs.aws - costs.dumont, costs.dumont),
        )

    def comparison(self, principal: Principal, gpu_type: str) -> Comparison:
        """One GPU of `gpu_type` an hour here and at each hyperscaler: here, the market's lowest price among
        the latest collected (live, with the margin); without a collection, what the team last paid."""
        ours: float | None = None
        source: str | None = None
        if (market := self._market_hourly(gpu_type)) is not None:
            ours, source = round(market * (1 + self.billing.meter.margin), 6), "market"
        else:
            lines = self._charges(principal, ALL_TIME, "", "")
            paid = [
                line
                for line in lines
                if line.kind == EntryKind.CHARGE
                and line.gpu_type == gpu_type
                and line.price_per_hour is not None
            ]
            latest = max(
                paid, key=lambda line: line.updated_at or datetime.min.replace(tzinfo=UTC), default=None
            )
            if latest is not None:
                ours, source = round((latest.price_per_hour or 0.0) / (latest.num_gpus or 1), 6), "paid"
        aws = hourly(gpu_type, Cloud.AWS)
        equivalent = EQUIVALENTS[gpu_type]
        saved = None if ours is None or aws is None else round(aws - ours, 6)
        return Comparison(
            gpu_type=gpu_type,
            dumont_hourly=ours,
            dumont_source=source,
            aws_hourly=_rounded(aws),
            gcp_hourly=_rounded(hourly(gpu_type, Cloud.GCP)),
            azure_hourly=_rounded(hourly(gpu_type, Cloud.AZURE)),
            savings_per_hour=saved,
            savings_percent=None if saved is None or not aws else percent(saved, aws),
            aws_instance_type=equivalent.aws,
            gcp_instance_type=equivalent.gcp,
            azure_instance_type=equivalent.azure,
            why=equivalent.why,
            source_date=CATALOG_DATE,
        )

    def _market_hourly(self, gpu_type: str) -> float | None:
        """The lowest on-demand price of one such GPU an hour among the latest collected, at any provider."""
        if self.market is None:
            return None
        lowest = [
            found.on_demand.lowest
            for point in self.market.prices(gpu_type, None)
            if (found := point.slice(ALL_REGIONS)) is not None and found.on_demand is not None
        ]
        return min(lowest, default=None)

    def _charges(self, principal: Principal, scope: str, first_day: str, last_day: str) -> list[Rollup]:
        """The team's charges over the period, machines' per GPU type (and count) and storage's, from its
        running totals: a bounded read however long its history."""
        totals = self.billing.totals(principal, scope, first_day, last_day)
        return [line for line in totals if line.kind != EntryKind.CREDIT]

    def _breakdown(self, lines: list[Rollup]) -> list[GpuSavings]:
        by_gpu: dict[str, list[Rollup]] = defaultdict(list)
        for line in lines:
            by_gpu[STORAGE_ROW if line.kind == EntryKind.STORAGE else line.gpu_type or "unknown"].append(line)
        breakdown = []
        for gpu_type, gpu_lines in sorted(by_gpu.items()):
            costs = Costs.of(gpu_lines)
            breakdown.append(
                GpuSavings(
                    gpu_type=gpu_type,
                    hours=round(costs.hours, 4),
                    cost_dumont=round(costs.dumont, 6),
                    cost_aws=round(costs.aws, 6),
                    savings=round(costs.aws - costs.dumont, 6),
                )
            )
        return breakdown

    def _hibernation(self, principal: Principal, first: date, now: datetime) -> tuple[float, float]:
        """The machine-hours automatic hibernation (serverless mode's, for idleness) gave back from `first`
        until now, each until it woke or was deleted, and what they would have cost."""
        start = datetime.combine(first, time.min, now.tzinfo)
        days = (now - start).days + 400  # a hibernation begun long ago may still be going on
        hours = saved = 0.0
        for record in self.hibernations.hibernations(principal, days):
            if not record.automatic:
                continue  # a person's or an empty balance's hibernation is not serverless mode's saving
            until = record.woke_at or record.deleted_at or now
            overlap = (min(until, now) - max(record.timestamp, start)).total_seconds() / 3600
            if overlap > 0:
                hours += overlap
                saved += overlap * record.savings_per_hour
        return hours, saved


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
