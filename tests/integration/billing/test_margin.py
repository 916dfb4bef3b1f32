"""With a platform margin, every figure a team sees carries it: what is charged, the balance, the burn,
the history's prices, and the `cost_accumulated` its instances show, which is what was charged."""

from __future__ import annotations

import pytest

from dumont_core.instances.charges import cost_accumulated_at
from dumont_core.platform.settings import ProviderSettings
from tests.fakes.clock import Clock
from tests.fakes.events import InMemoryPublisher
from tests.fakes.provider import FakeProvider
from tests.integration.billing.conftest import Money, build_money
from tests.integration.instances.conftest import PRINCIPAL

MARGIN = 0.2


@pytest.fixture
def money(
    dynamodb_table: str,
    publisher: InMemoryPublisher,
    provider: FakeProvider,
    settings: ProviderSettings,
    clock: Clock,
) -> Money:
    return build_money(clock, publisher=publisher, provider=provider, settings=settings, margin=MARGIN)


def test_the_margin_is_charged_on_top_of_the_machines_price_and_shown_everywhere(money: Money) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()
    price = money.cloud.stored(provisioned.instance).cost_per_hour or 0.0
    money.cloud.clock.advance(hours=2)
    money.billing.settle_running()

    charged = 2 * price * (1 + MARGIN)
    assert money.charged() == pytest.approx(charged, abs=1e-6)
    report = money.billing.balance(PRINCIPAL)
    assert report.balance == pytest.approx(50 - charged, abs=1e-6)
    assert report.burn_per_hour == pytest.approx(price * (1 + MARGIN), abs=1e-6)
    page = money.billing.history(PRINCIPAL, since=None, until=None, instance_id=None, page=1, per_page=10)
    [line] = [line for line in page.items if line.kind == "charge"]
    assert line.price_per_hour == pytest.approx(price * (1 + MARGIN))
    assert line.amount == pytest.approx(charged, abs=1e-6)


def test_the_cost_an_instance_shows_is_what_its_team_was_charged_margin_included(money: Money) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()
    money.cloud.clock.advance(minutes=97)
    money.billing.settle_running()

    shown = cost_accumulated_at(money.cloud.stored(provisioned.instance), money.cloud.clock(), MARGIN)
    assert shown == pytest.approx(money.charged(), abs=1e-4)
    assert shown > round(money.charged() / (1 + MARGIN), 4), "the margin is in what is shown"
