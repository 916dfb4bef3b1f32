"""Savings a user can check: each figure is the history's charges, or the same GPU-hours at the catalog's
hyperscaler prices, and the breakdown adds up to the summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dumont_core.instances.models import PowerAction
from dumont_core.market.models import ALL_REGIONS, MarketSlice, PricePoint, PriceStats
from dumont_core.platform.identity import Principal
from dumont_core.providers.catalog import known_gpu_type_ids
from dumont_core.providers.models import ProviderMachineStatus
from dumont_core.savings.catalog import EQUIVALENTS, PRICES, Cloud, hourly
from dumont_core.savings.models import Period
from dumont_core.savings.service import SavingsService
from dumont_core.serverless.models import HibernationRecord
from tests.integration.billing.conftest import Money
from tests.integration.instances.conftest import PRINCIPAL


class Hibernations:
    def __init__(self) -> None:
        self.records: list[HibernationRecord] = []

    def hibernations(self, principal: Principal, days: int) -> list[HibernationRecord]:
        return self.records


@pytest.fixture
def hibernations() -> Hibernations:
    return Hibernations()


class Market:
    """The latest collected prices: an RTX 4090 from $0.31 an hour at one provider, $0.29 at another."""

    def prices(self, gpu_type: str | None, region: str | None) -> list[PricePoint]:
        at = datetime(2025, 3, 1, tzinfo=UTC)

        def point(provider: str, lowest: float) -> PricePoint:
            stats = PriceStats(lowest=lowest, p10=lowest + 0.01, median=lowest + 0.1)
            whole = MarketSlice(
                region=ALL_REGIONS, on_demand=stats, interruptible=None, offers_available=3, gpus_available=3
            )
            return PricePoint(gpu_type="RTX_4090", provider=provider, at=at, slices=[whole])

        found = [point("vast", 0.31), point("other", 0.29)]
        return [price for price in found if gpu_type in (None, price.gpu_type)]


def savings_service(money: Money, hibernations: Hibernations, market: Market | None) -> SavingsService:
    return SavingsService(
        billing=money.billing,
        instances=money.cloud.service,
        hibernations=hibernations,
        market=market,
        clock=money.cloud.clock,
    )


@pytest.fixture
def savings(money: Money, hibernations: Hibernations) -> SavingsService:
    return savings_service(money, hibernations, Market())


def run_for(money: Money, hours: float) -> float:
    """Rent an RTX 4090, run it `hours`, settled every hour, and stop it; its price an hour."""
    provisioned = money.cloud.provision()
    price = money.cloud.stored(provisioned.instance).cost_per_hour or 0.0
    for _ in range(int(hours)):
        money.cloud.clock.advance(hours=1)
        money.billing.settle_running()  # the schedule's rounds, here an hour apart
    money.cloud.clock.advance(hours=hours - int(hours))
    money.cloud.ask(provisioned.instance, PowerAction.STOP)
    provisioned.machine.status = ProviderMachineStatus.STOPPED
    money.cloud.steps.check_power_action(provisioned.ref, PowerAction.STOP)
    money.billing.settle_running()
    return price


def test_the_summary_is_the_historys_charges_against_the_same_hours_at_aws(
    money: Money, savings: SavingsService
) -> None:
    money.top_up(50)
    price = run_for(money, 10)

    summary = savings.summary(PRINCIPAL, Period.MONTH)

    aws = hourly("RTX_4090", Cloud.AWS) or 0.0
    assert summary.period == "2025-03"
    assert summary.total_hours == pytest.approx(10)
    assert summary.total_cost_dumont == pytest.approx(money.charged(), abs=1e-6)
    assert summary.total_cost_dumont == pytest.approx(10 * price, abs=1e-6)
    assert summary.total_cost_aws == pytest.approx(10 * aws, abs=1e-6)
    assert summary.savings_vs_aws == pytest.approx(10 * (aws - price), abs=1e-6)
    assert summary.roi_percent == pytest.approx(100 * (aws - price) / price, abs=0.1)
    [gpu] = summary.breakdown_by_gpu
    assert (gpu.gpu_type, gpu.cost_dumont, gpu.cost_aws) == (
        "RTX_4090",
        summary.total_cost_dumont,
        summary.total_cost_aws,
    )


def test_the_history_splits_the_savings_by_month(money: Money, savings: SavingsService) -> None:
    money.cloud.clock.now = datetime(2025, 2, 28, 20, 0, tzinfo=UTC)
    money.top_up(50)
    run_for(money, 8)  # 4 hours in February, 4 in March

    february, march = savings.history(PRINCIPAL, 3)[1], savings.history(PRINCIPAL, 3)[0]

    assert (march.month, february.month) == ("2025-03", "2025-02")
    assert march.total_cost_dumont == pytest.approx(february.total_cost_dumont, abs=1e-6)
    assert march.total_cost_dumont + february.total_cost_dumont == pytest.approx(money.charged(), abs=1e-6)


def test_without_a_collected_price_the_comparison_is_what_the_team_last_paid(
    money: Money, hibernations: Hibernations
) -> None:
    savings = savings_service(money, hibernations, market=None)
    money.top_up(50)
    price = run_for(money, 1)

    compared = savings.comparison(PRINCIPAL, "RTX_4090")

    assert compared.dumont_hourly == pytest.approx(price)
    assert compared.aws_hourly == pytest.approx(hourly("RTX_4090", Cloud.AWS))
    assert compared.aws_instance_type == "g6e.xlarge"
    assert compared.savings_per_hour == pytest.approx((compared.aws_hourly or 0) - price)
    assert compared.dumont_source == "paid"
    never = savings.comparison(PRINCIPAL, "A100")
    assert (never.dumont_hourly, never.dumont_source) == (None, None), (
        "never rented, nor priced at the market"
    )


def test_the_comparison_is_the_markets_lowest_collected_price_whatever_the_team_paid(
    money: Money, savings: SavingsService
) -> None:
    money.top_up(50)
    paid = run_for(money, 1)
    assert paid != pytest.approx(0.29)

    compared = savings.comparison(PRINCIPAL, "RTX_4090")

    assert (compared.dumont_hourly, compared.dumont_source) == (0.29, "market")
    assert compared.savings_per_hour == pytest.approx((compared.aws_hourly or 0) - 0.29)
    assert savings.comparison(PRINCIPAL, "A100").dumont_source is None


def test_auto_hibernation_savings_are_the_hours_it_gave_back_at_their_price(
    money: Money, savings: SavingsService, hibernations: Hibernations
) -> None:
    now = money.cloud.clock()
    hibernations.records = [
        HibernationRecord(
            instance_id="inst_1",
            timestamp=now - timedelta(hours=5),
            reason="idle",
            automatic=True,
            savings_per_hour=0.4,
            woke_at=now - timedelta(hours=2),
            saved=1.2,
        ),
        HibernationRecord(
            instance_id="inst_2",
            timestamp=now - timedelta(hours=1),
            reason="idle",
            automatic=True,
            savings_per_hour=0.5,
            woke_at=None,
            saved=0.5,
        ),
    ]

    summary = savings.summary(PRINCIPAL, Period.DAY)

    assert summary.auto_hibernate_hours == pytest.approx(4)
    assert summary.auto_hibernate_savings == pytest.approx(3 * 0.4 + 1 * 0.5)


def test_every_gpu_we_rent_has_an_equivalent_with_a_dated_sourced_price() -> None:
    assert set(EQUIVALENTS) == set(known_gpu_type_ids())
    named = {price.instance_type for price in PRICES}
    for equivalent in EQUIVALENTS.values():
        assert {equivalent.aws, equivalent.gcp, equivalent.azure} - {None} <= named
        assert equivalent.why
    for price in PRICES:
        assert (
            price.source.startswith("https://")
            and price.as_of
            and price.price_per_hour > 0
            and price.gpus >= 1
        )
