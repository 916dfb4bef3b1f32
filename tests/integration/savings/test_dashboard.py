"""The dashboard: all time's savings, and a month (730 hours) of what runs now, here and at AWS."""

from __future__ import annotations

import pytest

from dumont_core.savings.catalog import Cloud, hourly
from dumont_core.savings.service import SavingsService
from tests.integration.billing.conftest import Money
from tests.integration.instances.conftest import PRINCIPAL
from tests.integration.savings.test_savings import Hibernations, Market, run_for


@pytest.fixture
def savings(money: Money) -> SavingsService:
    return SavingsService(
        billing=money.billing,
        instances=money.cloud.service,
        hibernations=Hibernations(),
        market=Market(),
        clock=money.cloud.clock,
    )


def test_the_dashboard_is_a_month_of_what_runs_now_against_aws_and_all_times_savings(
    money: Money, savings: SavingsService
) -> None:
    money.top_up(100)
    stopped_price = run_for(money, 4)
    running = money.cloud.provision()
    price = money.cloud.stored(running.instance).cost_per_hour or 0.0
    money.cloud.clock.advance(hours=2)
    money.billing.settle_running()

    dashboard = savings.dashboard(PRINCIPAL)

    aws = hourly("RTX_4090", Cloud.AWS) or 0.0
    assert dashboard.monthly_burn == round(730 * price, 2)
    assert dashboard.aws_equivalent == round(730 * aws, 2)
    assert dashboard.savings_percent == round(100 * (aws - price) / aws, 1)
    spent = 4 * stopped_price + 2 * price
    assert dashboard.total_cost_dumont == pytest.approx(spent, abs=1e-5)
    assert dashboard.total_saved_usd == pytest.approx(6 * aws - spent, abs=1e-5)
    assert dashboard.roi_percent == round(100 * (6 * aws - spent) / spent, 1)


def test_with_nothing_running_the_month_costs_nothing_on_either_side(
    money: Money, savings: SavingsService
) -> None:
    dashboard = savings.dashboard(PRINCIPAL)

    assert (dashboard.monthly_burn, dashboard.aws_equivalent, dashboard.savings_percent) == (0, 0, 0)
    assert (dashboard.total_saved_usd, dashboard.roi_percent) == (0, 0)
