"""Every second an instance holds a machine is charged once, at the price of that machine, to its team's
balance and history: however often, however late and by however many settlers it is settled."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dumont_core.billing.models import EntryKind, HistoryPage, MeterMark
from dumont_core.billing.repository import StaleMark
from dumont_core.instances.models import InstanceStatus, InterruptionReason, PowerAction
from dumont_core.providers.models import ProviderMachineStatus
from tests.integration.billing.conftest import TEAM, Money
from tests.integration.instances.conftest import PRINCIPAL


def history(money: Money) -> HistoryPage:
    return money.billing.history(PRINCIPAL, since=None, until=None, instance_id=None, page=1, per_page=50)


def test_a_running_instance_is_charged_its_price_for_every_second_it_runs(money: Money) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()
    price = money.cloud.stored(provisioned.instance).cost_per_hour
    assert price

    money.cloud.clock.advance(hours=1.5)
    money.billing.settle_running()

    assert money.balance() == pytest.approx(50 - 1.5 * price, abs=1e-6)
    [line] = [line for line in history(money).items if line.kind == EntryKind.CHARGE]
    assert line.instance_id == provisioned.instance.instance_id
    assert line.hours == pytest.approx(1.5)
    assert line.amount == pytest.approx(1.5 * price, abs=1e-6)
    assert line.price_per_hour == pytest.approx(price)


def test_settling_again_replaying_or_racing_never_charges_twice(money: Money) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()
    money.cloud.clock.advance(hours=1)
    instance = money.cloud.stored(provisioned.instance)

    money.meter.settle(instance)
    money.meter.settle(instance)  # a retried settlement
    money.billing.settle_running()  # and the schedule's, at the same moment

    price = instance.cost_per_hour or 0.0
    assert money.charged() == pytest.approx(price, abs=1e-6)
    assert money.balance() == pytest.approx(50 - price, abs=1e-6)


def test_a_settler_that_read_an_old_watermark_is_refused_and_charges_nothing_twice(money: Money) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()
    money.cloud.clock.advance(hours=1)
    instance = money.cloud.stored(provisioned.instance)
    stale = money.repository.mark(TEAM, instance.instance_id)
    money.meter.settle(instance)
    price = instance.cost_per_hour or 0.0

    after = MeterMark(
        team_id=TEAM, instance_id=instance.instance_id, settled_micros=1, version=stale.version + 1
    )
    with pytest.raises(StaleMark):
        money.repository.settle(stale, after, [], money.meter._machine(instance, money.cloud.clock()).line)

    assert money.charged() == pytest.approx(price, abs=1e-6)


def test_a_stopped_instance_is_charged_until_it_stopped_and_not_after(money: Money) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()
    price = money.cloud.stored(provisioned.instance).cost_per_hour or 0.0
    money.cloud.clock.advance(hours=2)
    money.cloud.ask(provisioned.instance, PowerAction.STOP)
    provisioned.machine.status = ProviderMachineStatus.STOPPED
    money.cloud.steps.check_power_action(provisioned.ref, PowerAction.STOP)

    money.cloud.clock.advance(hours=5)
    money.billing.settle_running()

    assert money.cloud.stored(provisioned.instance).status == InstanceStatus.STOPPED
    assert money.charged() == pytest.approx(2 * price, abs=1e-6)
    assert money.balance() == pytest.approx(50 - 2 * price, abs=1e-6)


def test_a_machine_that_died_before_the_last_settlement_is_refunded_the_time_after_it_died(
    money: Money,
) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()
    price = money.cloud.stored(provisioned.instance).cost_per_hour or 0.0
    money.cloud.clock.advance(hours=1)
    died_at = money.cloud.clock()
    money.cloud.clock.advance(minutes=30)
    money.billing.settle_running()  # charged to now: half an hour the machine was already dead

    running = money.cloud.stored(provisioned.instance)
    money.cloud.service.interrupt(running, InterruptionReason.MACHINE_LOST, "gone", died_at)
    money.billing.settle_running()

    assert money.charged() == pytest.approx(price, abs=1e-6)
    assert money.balance() == pytest.approx(50 - price, abs=1e-6)
    assert round(money.cloud.stored(provisioned.instance).cost_at(money.cloud.clock()), 4) == pytest.approx(
        money.charged(), abs=1e-4
    )


def test_a_settlement_across_midnight_is_charged_on_each_day_it_covers(money: Money) -> None:
    money.cloud.clock.now = datetime(2025, 3, 1, 23, 0, tzinfo=UTC)
    money.top_up(50)
    provisioned = money.cloud.provision()
    price = money.cloud.stored(provisioned.instance).cost_per_hour or 0.0
    money.cloud.clock.advance(hours=3)
    money.billing.settle_running()

    page = history(money)
    charges = {line.date: line for line in page.items if line.kind == "charge"}
    assert set(charges) == {"2025-03-01", "2025-03-02"}
    assert charges["2025-03-01"].hours == pytest.approx(1)
    assert charges["2025-03-02"].hours == pytest.approx(2)
    assert charges["2025-03-02"].amount == pytest.approx(2 * price, abs=1e-6)
    assert page.total_charged == pytest.approx(3 * price, abs=1e-6)


def test_a_run_that_starts_and_stops_between_two_rounds_of_the_schedule_is_charged_once(money: Money) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()  # the round after renting it was never run
    price = money.cloud.stored(provisioned.instance).cost_per_hour or 0.0
    money.cloud.clock.advance(seconds=40)
    money.cloud.ask(provisioned.instance, PowerAction.STOP)
    provisioned.machine.status = ProviderMachineStatus.STOPPED
    money.cloud.steps.check_power_action(provisioned.ref, PowerAction.STOP)

    money.cloud.clock.advance(minutes=1)
    money.billing.settle_running()
    money.billing.settle_running()

    assert money.charged() == pytest.approx(40 * price / 3600, abs=1e-6)
    assert money.cloud.service.unsettled() == [], "settled, and no longer marked"
