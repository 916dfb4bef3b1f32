"""A team's balance: credits land once, warnings come once a crossing, a team that cannot pay an hour is
refused before anything is rented or written, and at zero its machines are hibernated, not destroyed."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from dumont_core.billing.meter import Meter
from dumont_core.billing.models import BillingEventType, CreditSource
from dumont_core.billing.service import OUT_OF_CREDIT
from dumont_core.instances.models import InstanceStatus, PowerAction
from dumont_core.platform.errors import InsufficientBalance
from dumont_core.providers.models import ProviderMachineStatus
from dumont_core.snapshots.repository import SnapshotRepository
from dumont_core.snapshots.service import SnapshotService
from dumont_core.snapshots.store import SnapshotStore
from tests.integration.billing.conftest import TEAM, Money
from tests.integration.instances.conftest import PRINCIPAL

EVENTS = Path(__file__).resolve().parents[3] / "events" / "domain"


def assert_documented(event: object) -> None:
    detail = event.bus_detail()  # type: ignore[attr-defined]
    schema = json.loads((EVENTS / f"{detail['event']}.json").read_text())
    jsonschema.validate(json.loads(json.dumps(detail)), schema)


def test_a_payment_is_credited_once_however_often_it_is_confirmed(money: Money) -> None:
    assert money.top_up(20, payment_id="pay_1")
    assert not money.top_up(20, payment_id="pay_1")

    assert money.balance() == 20
    [added] = money.events(BillingEventType.CREDITS_ADDED)
    assert added.details == {"amount": 20, "source": "payment", "payment_id": "pay_1"}
    assert_documented(added)


def test_a_new_sign_up_gets_the_trial_credit_once(money: Money) -> None:
    trial = Meter(repository=money.repository, publisher=money.cloud.publisher, trial_credit_usd=25)

    trial.welcome(PRINCIPAL.account_id, TEAM)
    trial.welcome(PRINCIPAL.account_id, TEAM)

    assert money.balance() == 25
    assert money.events(BillingEventType.CREDITS_ADDED) == [], "part of the sign-up, not published"
    [line] = money.billing.history(
        PRINCIPAL, since=None, until=None, instance_id=None, page=1, per_page=5
    ).items
    assert (line.kind, line.source, line.amount) == ("credit", CreditSource.TRIAL, 25)


def test_a_team_that_cannot_pay_is_refused_before_anything_is_rented_or_written(money: Money) -> None:
    with pytest.raises(InsufficientBalance) as refused:
        money.cloud.create()

    assert refused.value.http_status == 402
    # The cheapest RTX 4090 a host of 90% reliability rents: offer 1, bid at 0.20 plus a 10% margin.
    assert refused.value.details == {"balance": 0.0, "needed": 0.22, "currency": "USD"}
    assert money.cloud.service.list_all(PRINCIPAL) == []
    assert money.cloud.starter.started == []
    assert money.cloud.provider.machines == {}


def test_a_create_needs_an_hour_of_the_offer_it_would_rent_not_only_a_positive_balance(
    money: Money,
) -> None:
    money.top_up(0.3)

    with pytest.raises(InsufficientBalance) as refused:
        money.cloud.create(region="us-east", num_gpus=2)  # offer 3: 0.60 an hour, on demand

    assert refused.value.details == {"balance": 0.3, "needed": 0.6, "currency": "USD"}
    assert "$0.30" in refused.value.message and "$0.60" in refused.value.message
    assert money.cloud.service.list_all(PRINCIPAL) == []
    assert money.cloud.starter.started == []
    assert money.cloud.provider.machines == {}

    cheaper = money.cloud.create()  # offer 1's bid, 0.22 an hour, is paid for
    assert cheaper.status == "starting"


def test_a_wake_or_a_failover_needs_an_hour_of_the_new_machine_not_of_the_one_it_gave_back(
    money: Money,
) -> None:
    money.top_up(0.3)
    provisioned = money.cloud.provision()
    instance = money.cloud.stored(provisioned.instance)
    assert instance.cost_per_hour == pytest.approx(0.22)
    money.cloud.service.transition(
        instance,
        expected=[instance.status],
        changes={
            "status": InstanceStatus.HIBERNATED,
            "last_snapshot_id": "snap_1",
            "provider_instance_id": None,
        },
    )
    money.cloud.provider.gone_offers.add(1)  # the cheap host is taken: the next is offer 2, 0.33 an hour
    snapshots = SnapshotService(
        instances=money.cloud.service,
        snapshots=SnapshotRepository(),
        store=SnapshotStore("unused"),
        workflows=money.cloud.starter,
        clock=money.cloud.clock,
    )
    started = len(money.cloud.starter.started)

    with pytest.raises(InsufficientBalance) as refused:
        snapshots.wake(PRINCIPAL, instance.instance_id)

    assert refused.value.details == {"balance": 0.3, "needed": 0.33, "currency": "USD"}
    assert money.cloud.stored(instance).status == "hibernated", "nothing written"
    assert len(money.cloud.starter.started) == started, "nothing rented"

    interrupted = money.cloud.service.transition(
        money.cloud.stored(instance),
        expected=[InstanceStatus.HIBERNATED],
        changes={"status": InstanceStatus.INTERRUPTED},
    )
    assert snapshots.recover(interrupted) is None, "a failover to a new machine is refused the same way"
    assert money.cloud.stored(instance).status == "interrupted"
    assert "failover.failed" in money.cloud.timeline(instance)
    assert str(refused.value).startswith(f"Insufficient balance to wake instance {instance.instance_id}:")

    drilled = money.cloud.service.transition(
        money.cloud.stored(instance),
        expected=[InstanceStatus.INTERRUPTED],
        changes={"status_reason": "interrupted (drill): failover drill"},
    )
    recovering = snapshots.recover(drilled)
    assert recovering is not None, (
        "a drill gave up a machine the team was paying for: its replacement is not refused"
    )
    assert recovering.status == "waking"


def test_starting_needs_a_balance_that_pays_an_hour_of_the_machine(money: Money) -> None:
    money.top_up(5)
    provisioned = money.cloud.provision()
    price = money.cloud.stored(provisioned.instance).cost_per_hour or 0.0
    money.cloud.ask(provisioned.instance, PowerAction.STOP)
    provisioned.machine.status = ProviderMachineStatus.STOPPED
    money.cloud.steps.check_power_action(provisioned.ref, PowerAction.STOP)
    money.cloud.clock.advance(hours=1)
    spent = money.balance()
    money.meter.credit(
        TEAM, PRINCIPAL.account_id, -(spent - price / 2), CreditSource.GRANT
    )  # leave half an hour

    with pytest.raises(InsufficientBalance) as refused:
        money.cloud.ask(provisioned.instance, PowerAction.START)

    assert refused.value.details["needed"] == pytest.approx(price)
    assert money.cloud.stored(provisioned.instance).status == "stopped"
    money.top_up(10)
    assert money.cloud.ask(provisioned.instance, PowerAction.START).status == "starting"


def test_the_low_balance_warnings_come_once_a_crossing(money: Money) -> None:
    money.top_up(11)
    provisioned = money.cloud.provision()
    price = money.cloud.stored(provisioned.instance).cost_per_hour or 0.0
    hours_to_cross = (1.5 / price) if price else 1

    money.cloud.clock.advance(hours=hours_to_cross)
    money.billing.settle_running()
    money.cloud.clock.advance(minutes=1)
    money.billing.settle_running()

    low = money.events(BillingEventType.BALANCE_LOW)
    assert len(low) == 1
    assert len(money.events(BillingEventType.LOW_BALANCE)) == 1
    assert low[0].details["threshold"] == 10
    for event in (*low, *money.events(BillingEventType.LOW_BALANCE)):
        assert_documented(event)

    money.top_up(20)
    money.cloud.clock.advance(minutes=1)
    money.billing.settle_running()
    assert len(money.events(BillingEventType.BALANCE_LOW)) == 1, "back over the threshold: no warning"

    money.cloud.clock.advance(hours=(21 / price) if price else 21)
    money.billing.settle_running()
    assert len(money.events(BillingEventType.BALANCE_LOW)) == 2, "under it again: warned again"


def test_at_zero_the_teams_running_instances_are_hibernated_and_it_is_said(money: Money) -> None:
    money.top_up(1)
    provisioned = money.cloud.provision()
    price = money.cloud.stored(provisioned.instance).cost_per_hour or 1.0

    money.cloud.clock.advance(hours=2 / price)
    money.billing.settle_running()

    assert money.hibernator.asked == [(provisioned.instance.instance_id, OUT_OF_CREDIT)]
    [exhausted] = money.events(BillingEventType.BALANCE_EXHAUSTED)
    assert exhausted.details["balance"] < 0
    assert_documented(exhausted)
