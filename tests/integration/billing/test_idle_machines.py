"""Machines an instance keeps without running on them are charged too: a failover standby from when it
is held until it is released, on a line of its own, and a stopped machine's disk while it is kept."""

from __future__ import annotations

import pytest

from dumont_core.billing.models import HistoryLine
from dumont_core.instances.models import PowerAction, Standby
from dumont_core.providers.models import ProviderMachineStatus
from tests.integration.billing.conftest import Money
from tests.integration.instances.conftest import PRINCIPAL, Provisioned

STANDBY_PRICE = 0.05
"""A stopped warm-pool GPU's disk, an hour."""


def lines(money: Money) -> list[HistoryLine]:
    page = money.billing.history(PRINCIPAL, since=None, until=None, instance_id=None, page=1, per_page=50)
    return page.items


def standby_line(money: Money) -> HistoryLine:
    [line] = [line for line in lines(money) if line.description == "standby"]
    return line


def hold_standby(money: Money, price: float) -> None:
    """The instance holds a standby, as the warm pool records one it rented."""
    [instance] = money.cloud.service.list_all(PRINCIPAL)
    standby = Standby(kind="gpu", provider="vastai", machine_id="9001", state="ready", cost_per_hour=price)
    money.cloud.service.configure(instance, {"standby": standby})


def release_standby(money: Money) -> None:
    [instance] = money.cloud.service.list_all(PRINCIPAL)
    money.cloud.service.configure(instance, {"standby": None})


def stop(money: Money, provisioned: Provisioned) -> None:
    money.cloud.ask(provisioned.instance, PowerAction.STOP)
    provisioned.machine.status = ProviderMachineStatus.STOPPED
    money.cloud.steps.check_power_action(provisioned.ref, PowerAction.STOP)


def test_a_standby_is_charged_its_price_from_when_it_is_held_until_it_is_released(money: Money) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()
    price = money.cloud.stored(provisioned.instance).cost_per_hour or 0.0
    hold_standby(money, STANDBY_PRICE)
    assert money.billing.balance(PRINCIPAL).burn_per_hour == pytest.approx(price + STANDBY_PRICE)

    money.cloud.clock.advance(hours=2)
    money.billing.settle_running()
    release_standby(money)
    money.cloud.clock.advance(hours=3)
    money.billing.settle_running()

    line = standby_line(money)
    assert money.billing.balance(PRINCIPAL).burn_per_hour == pytest.approx(price), "no standby burns now"
    assert line.instance_id == provisioned.instance.instance_id
    assert line.hours == pytest.approx(2)
    assert line.amount == pytest.approx(2 * STANDBY_PRICE, abs=1e-6)
    assert line.price_per_hour == pytest.approx(STANDBY_PRICE)
    assert money.balance() == pytest.approx(50 - 5 * price - 2 * STANDBY_PRICE, abs=1e-6)


def test_a_standby_repriced_is_charged_each_price_for_its_own_time_and_only_once(money: Money) -> None:
    money.top_up(50)
    money.cloud.provision()
    hold_standby(money, 0.5)  # booted to sync: billed as a running machine
    money.cloud.clock.advance(minutes=30)
    hold_standby(money, STANDBY_PRICE)  # stopped again: its disk alone
    money.cloud.clock.advance(hours=4)

    money.billing.settle_running()
    money.billing.settle_running()  # a second round, or a replay, at the same moment
    [instance] = money.cloud.service.list_all(PRINCIPAL)
    money.meter.settle(instance)

    assert standby_line(money).amount == pytest.approx(0.5 * 0.5 + 4 * STANDBY_PRICE, abs=1e-6)


def test_a_standby_kept_by_a_stopped_instance_is_charged_by_every_round(money: Money) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()
    hold_standby(money, STANDBY_PRICE)
    money.billing.settle_running()
    stop(money, provisioned)

    for _ in range(3):
        money.cloud.clock.advance(hours=1)
        money.billing.settle_running()

    assert standby_line(money).amount == pytest.approx(3 * STANDBY_PRICE, abs=1e-6)


def test_a_stopped_instance_is_charged_its_machines_disk_while_it_keeps_it(money: Money) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()
    price = money.cloud.stored(provisioned.instance).cost_per_hour or 0.0
    money.cloud.clock.advance(hours=1)
    provisioned.machine.price_per_hour = 0.02  # what the provider charges for it stopped: its disk
    stop(money, provisioned)

    money.cloud.clock.advance(hours=10)
    money.billing.settle_running()
    money.billing.settle_running()

    assert money.charged() == pytest.approx(price + 10 * 0.02, abs=1e-6)
    money.cloud.ask(provisioned.instance, PowerAction.START)  # its disk is no longer billed as stopped
    money.cloud.clock.advance(hours=5)
    money.billing.settle_running()
    assert money.charged() == pytest.approx(price + 10 * 0.02, abs=1e-6)
    assert money.balance() == pytest.approx(50 - price - 10 * 0.02, abs=1e-6)


def test_a_deleted_instances_standby_is_charged_no_more(money: Money) -> None:
    money.top_up(50)
    provisioned = money.cloud.provision()
    hold_standby(money, STANDBY_PRICE)
    money.cloud.clock.advance(hours=1)
    money.cloud.delete(provisioned.instance)
    money.cloud.steps.destroy_machine(provisioned.ref)  # its standby goes with its machines

    money.cloud.clock.advance(hours=6)
    money.billing.settle_running()
    money.billing.settle_running()

    assert standby_line(money).amount == pytest.approx(STANDBY_PRICE, abs=1e-6)
    assert money.cloud.service.unsettled() == [], "settled, and no longer marked"
