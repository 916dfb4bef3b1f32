"""A team chooses the balance under which it is warned; without a choice, the deployment's default."""

from __future__ import annotations

from dumont_core.billing.models import BillingEventType
from tests.integration.billing.conftest import Money
from tests.integration.instances.conftest import PRINCIPAL


def test_a_team_is_warned_under_its_own_threshold_and_back_under_the_default_once_it_clears_it(
    money: Money,
) -> None:
    money.top_up(15)
    assert money.billing.balance(PRINCIPAL).low_balance_threshold == 10
    assert not money.events(BillingEventType.BALANCE_LOW), "$15 is over the default $10"

    chosen = money.billing.set_low_balance_threshold(PRINCIPAL, 20)

    assert (chosen.low_balance_threshold, chosen.default_threshold) == (20, False)
    assert money.billing.balance(PRINCIPAL).low_balance_threshold == 20
    [low] = money.events(BillingEventType.BALANCE_LOW)
    assert (low.details["balance"], low.details["threshold"]) == (15, 20)
    assert len(money.events(BillingEventType.LOW_BALANCE)) == 1

    money.billing.set_low_balance_threshold(PRINCIPAL, 20)
    assert len(money.events(BillingEventType.BALANCE_LOW)) == 1, "once a crossing, not once a change"

    default = money.billing.set_low_balance_threshold(PRINCIPAL, None)
    assert (default.low_balance_threshold, default.default_threshold) == (10, True)
    assert money.billing.balance(PRINCIPAL).low_balance_threshold == 10
    money.billing.set_low_balance_threshold(PRINCIPAL, 20)
    assert len(money.events(BillingEventType.BALANCE_LOW)) == 2, "back over the default, under again"
