"""Over any sequence of creates, stops, starts, hibernations, interruptions, failovers, top-ups, snapshot
storage and settlements, at any moments, the money adds up to the micro-dollar: the history's charges
(machines and storage) are what the balance lost to them, each instance is charged exactly what it cost,
the history's lines per day add up to its totals, and the savings' cost of a day, a week, a month or a
year is the history's over the same days."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from dumont_core.billing.meter import owed
from dumont_core.billing.models import EntryKind
from dumont_core.instances.models import (
    MACHINE_GONE,
    Instance,
    InstanceStatus,
    InterruptionReason,
    PowerAction,
)
from dumont_core.instances.step_support import InstanceRef
from dumont_core.platform.dynamodb import bind_table
from dumont_core.platform.identity import Principal
from dumont_core.platform.table import create_table_request
from dumont_core.providers.models import ProviderMachineStatus
from dumont_core.savings.models import Period
from dumont_core.savings.service import SavingsService
from dumont_core.serverless.models import HibernationRecord
from tests.fakes.clock import Clock
from tests.integration.billing.conftest import TEAM, Money, build_money
from tests.integration.conftest import REGION, TABLE_NAME
from tests.integration.instances.conftest import PRINCIPAL, ref_of

ACTIONS = st.sampled_from(
    [
        "create",
        "create",
        "stop",
        "start",
        "hibernate",
        "wake",
        "interrupt",
        "top_up",
        "store",
        "settle",
        "wait",
        "wait",
    ]
)
STEP = st.tuples(ACTIONS, st.integers(min_value=0, max_value=9), st.floats(min_value=1, max_value=30 * 3600))


class KeptBytes:
    """What the team's snapshots keep in S3, as the test sets it."""

    def __init__(self) -> None:
        self.kept = 0

    def stored_bytes(self, team_id: str) -> int:
        return self.kept


class World:
    """The cloud driven as the API, the workflows and the interruption watch would drive it."""

    def __init__(self, money: Money) -> None:
        self.storage = KeptBytes()
        money.billing = dataclasses.replace(money.billing, storage=self.storage)
        self.money = money
        self.cloud = money.cloud
        self.credited = 0

    def instances(self) -> list[Instance]:
        return self.cloud.service.list_all(PRINCIPAL)

    def pick(self, status: InstanceStatus, index: int, *, on_a_machine: bool = False) -> Instance | None:
        """One of the instances in `status` (holding a machine at the marketplace, if asked)."""
        found = [
            instance
            for instance in self.instances()
            if instance.status == status and (instance.provider_instance_id or not on_a_machine)
        ]
        return found[index % len(found)] if found else None

    def apply(self, action: str, index: int, amount: float) -> None:
        getattr(self, action)(index, amount)

    def create(self, index: int, amount: float) -> None:
        if self.money.repository.balance(TEAM).balance_micros > 0 and len(self.instances()) < 4:
            self.cloud.provision()

    def stop(self, index: int, amount: float) -> None:
        if (instance := self.pick(InstanceStatus.RUNNING, index, on_a_machine=True)) is not None:
            self.cloud.ask(instance, PowerAction.STOP)
            self.cloud.provider.machines[
                instance.provider_instance_id or ""
            ].status = ProviderMachineStatus.STOPPED
            self.cloud.steps.check_power_action(self._ref(instance), PowerAction.STOP)

    def start(self, index: int, amount: float) -> None:
        instance = self.pick(InstanceStatus.STOPPED, index, on_a_machine=True)
        if instance is not None and self._affordable(instance):
            self.cloud.ask(instance, PowerAction.START)
            self.cloud.provider.machines[
                instance.provider_instance_id or ""
            ].status = ProviderMachineStatus.RUNNING
            self.cloud.steps.check_power_action(self._ref(instance), PowerAction.START)

    def hibernate(self, index: int, amount: float) -> None:
        if (instance := self.pick(InstanceStatus.RUNNING, index)) is not None:
            hibernating = self.cloud.service.transition(
                instance, expected=[InstanceStatus.RUNNING], changes={"status": InstanceStatus.HIBERNATING}
            )
            now = self.cloud.clock()
            self.cloud.service.transition(
                hibernating,
                expected=[InstanceStatus.HIBERNATING],
                changes={
                    "status": InstanceStatus.HIBERNATED,
                    "provider_instance_id": None,
                    "last_snapshot_id": "snap_0",
                    **hibernating.billing_stopped_at(now),
                    **MACHINE_GONE,
                },
            )

    def wake(self, index: int, amount: float) -> None:
        """Woken, or failed over, on a new machine: billed from when it runs."""
        instance = self.pick(InstanceStatus.HIBERNATED, index) or self.pick(InstanceStatus.INTERRUPTED, index)
        if instance is None or not self._affordable(instance):
            return
        waking = self.cloud.service.transition(
            instance, expected=[instance.status], changes={"status": InstanceStatus.WAKING}
        )
        now = self.cloud.clock()
        self.cloud.service.transition(
            waking,
            expected=[InstanceStatus.WAKING],
            changes={
                "status": InstanceStatus.RUNNING,
                "running_since": now,
                "cost_per_hour": 0.3 + index / 10,
            },
        )

    def interrupt(self, index: int, amount: float) -> None:
        """The machine died some time ago, before the schedule's last settlement: it is refunded."""
        self.money.billing.settle_running()
        if (instance := self.pick(InstanceStatus.RUNNING, index)) is not None:
            died_at = self.cloud.clock() - timedelta(seconds=min(amount, 3600))
            self.cloud.service.interrupt(instance, InterruptionReason.MACHINE_LOST, "gone", died_at)

    def top_up(self, index: int, amount: float) -> None:
        dollars = round(1 + amount / 3600, 2)
        self.money.top_up(dollars)
        self.credited += round(dollars * 1_000_000)

    def store(self, index: int, amount: float) -> None:
        """Snapshots made or deleted: the team keeps `index` times 40 GiB from now on."""
        self.money.billing.settle_running()
        self.storage.kept = index * 40 * 2**30

    def settle(self, index: int, amount: float) -> None:
        self.money.billing.settle_running()

    def wait(self, index: int, amount: float) -> None:
        self.cloud.clock.advance(seconds=amount)

    def _affordable(self, instance: Instance) -> bool:
        needed = round((instance.cost_per_hour or 0) * 1_000_000)
        return self.money.repository.balance(TEAM).balance_micros >= max(needed, 1)

    @staticmethod
    def _ref(instance: Instance) -> InstanceRef:
        return ref_of(instance)


class NoHibernations:
    def hibernations(self, principal: Principal, days: int) -> list[HibernationRecord]:
        return []


def check_the_sums(world: World) -> None:
    money = world.money
    now = world.cloud.clock()
    money.billing.settle_running()  # the schedule's round finds every instance with something to settle
    lines = money.repository.ledger(TEAM, "0000", "9999")
    charges = [line for line in lines if line.kind == EntryKind.CHARGE]
    credits = sum(line.amount_micros for line in lines if line.kind == EntryKind.CREDIT)
    charged = sum(line.amount_micros for line in lines if line.kind != EntryKind.CREDIT)
    balance = money.repository.balance(TEAM).balance_micros

    assert credits == world.credited
    assert credits - charged == balance, "the history's charges, storage included, are what the balance lost"
    for instance in world.instances():
        cost, seconds = owed(instance, now, money.meter.margin)
        mine = [line for line in charges if line.instance_id == instance.instance_id]
        assert sum(line.amount_micros for line in mine) == cost, "charged exactly what it cost"
        assert abs(sum(line.seconds for line in mine) - seconds) < 1e-3, "every second once"
    savings = SavingsService(
        billing=money.billing,
        instances=world.cloud.service,
        hibernations=NoHibernations(),
        clock=world.cloud.clock,
    )
    for period in Period:
        summary = savings.summary(PRINCIPAL, period)
        page = money.billing.history(
            PRINCIPAL,
            since=date.fromisoformat(summary.first_day),
            until=date.fromisoformat(summary.last_day),
            instance_id=None,
            per_page=100,
        )
        assert summary.total_cost_dumont == pytest.approx(page.total_charged, abs=1e-6), period
        assert sum(gpu.cost_dumont for gpu in summary.breakdown_by_gpu) == pytest.approx(
            summary.total_cost_dumont, abs=1e-5
        ), f"the {period}'s breakdown adds up to its summary"
        assert sum(gpu.cost_aws for gpu in summary.breakdown_by_gpu) == pytest.approx(
            summary.total_cost_aws, abs=1e-5
        )
        if period == Period.MONTH:
            [month] = savings.history(PRINCIPAL, 1)
            assert month.total_cost_dumont == pytest.approx(summary.total_cost_dumont, abs=1e-6)
    year = savings.summary(PRINCIPAL, Period.YEAR)
    assert round(year.total_cost_dumont * 1_000_000) == charged, "the savings' cost is the history's charges"
    everything = money.billing.history(PRINCIPAL, since=None, until=None, instance_id=None, per_page=100)
    assert round(everything.total_charged * 1_000_000) == charged
    assert round(everything.total_credited * 1_000_000) == credits


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(STEP, min_size=1, max_size=30))
def test_the_history_the_balance_and_each_instances_cost_always_agree(
    aws_env: None, steps: list[tuple[str, int, float]]
) -> None:
    with mock_aws():
        boto3.session.Session(region_name=REGION).client("dynamodb").create_table(
            **create_table_request(TABLE_NAME)
        )
        bind_table(TABLE_NAME)
        world = World(build_money(Clock()))
        world.top_up(0, 3600)
        for action, index, amount in steps:
            world.apply(action, index, amount)
        check_the_sums(world)
