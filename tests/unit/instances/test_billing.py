"""What a user is billed and how long the instance has been up, across stop and start.

The instance keeps the billed time and cost of finished intervals in `billed_seconds` and
`closed_cost`, and the start of the current one in `running_since` (None while nothing is billed),
which is what the workflow steps write on every transition.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dumont_core.instances.models import Instance, InstanceStatus

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PRICE = 0.40


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def running_instance(since: datetime, cost_per_hour: float | None = PRICE) -> Instance:
    return Instance(
        instance_id="inst_billing",
        account_id="acct_1",
        team_id="team_1",
        gpu_type="RTX_4090",
        image="pytorch/pytorch:latest",
        disk_gb=50,
        status=InstanceStatus.RUNNING,
        created_at=since - timedelta(minutes=2),
        updated_at=since,
        cost_per_hour=cost_per_hour,
        running_since=since,
    )


def stopped_at(instance: Instance, when: datetime) -> Instance:
    return instance.model_copy(
        update={
            "status": InstanceStatus.STOPPED,
            **instance.billing_stopped_at(when),
            "updated_at": when,
        }
    )


def started_at(instance: Instance, when: datetime) -> Instance:
    return instance.model_copy(
        update={"status": InstanceStatus.RUNNING, "running_since": when, "updated_at": when}
    )


def test_a_running_instance_costs_its_price_per_hour_and_reports_its_uptime() -> None:
    instance = running_instance(T0)

    assert round(instance.cost_at(T0), 4) == 0.0
    assert instance.uptime_seconds_at(T0) == 0
    assert round(instance.cost_at(T0 + hours(1.5)), 4) == pytest.approx(0.60)
    assert instance.uptime_seconds_at(T0 + hours(1.5)) == 5400


def test_running_then_stopped_then_running_bills_only_the_running_time() -> None:
    first = running_instance(T0)
    stopped = stopped_at(first, T0 + hours(1))

    # A day stopped costs nothing and shows no uptime.
    assert round(stopped.cost_at(T0 + hours(1)), 4) == pytest.approx(0.40)
    assert round(stopped.cost_at(T0 + hours(25)), 4) == pytest.approx(0.40)
    assert stopped.uptime_seconds_at(T0 + hours(25)) == 0

    restarted = started_at(stopped, T0 + hours(25))
    later = T0 + hours(25.5)

    assert round(restarted.cost_at(later), 4) == pytest.approx(0.60), "1 h + 30 min at 0.40/h"
    assert restarted.billed_seconds_at(later) == pytest.approx(5400)
    assert restarted.uptime_seconds_at(later) == 1800, "uptime counts from the latest start"


def test_two_stop_start_cycles_add_up() -> None:
    instance = running_instance(T0)
    instance = stopped_at(instance, T0 + hours(2))
    instance = started_at(instance, T0 + hours(3))
    instance = stopped_at(instance, T0 + hours(4))
    instance = started_at(instance, T0 + hours(10))

    assert instance.billed_seconds_at(T0 + hours(11)) == pytest.approx(4 * 3600)
    assert round(instance.cost_at(T0 + hours(11)), 4) == pytest.approx(1.60)


def test_stopping_is_still_billed_but_is_not_uptime() -> None:
    stopping = running_instance(T0).model_copy(update={"status": InstanceStatus.STOPPING})

    assert round(stopping.cost_at(T0 + hours(1)), 4) == pytest.approx(0.40)
    assert stopping.uptime_seconds_at(T0 + hours(1)) == 0


def test_an_instance_without_a_price_costs_nothing() -> None:
    assert round(running_instance(T0, cost_per_hour=None).cost_at(T0 + hours(5)), 4) == 0.0


def test_a_clock_behind_the_start_never_gives_negative_cost_or_uptime() -> None:
    instance = running_instance(T0)

    assert round(instance.cost_at(T0 - timedelta(seconds=30)), 4) == 0.0
    assert instance.uptime_seconds_at(T0 - timedelta(seconds=30)) == 0


def test_cost_is_rounded_to_hundredths_of_a_cent() -> None:
    instance = running_instance(T0, cost_per_hour=0.333333)

    assert round(instance.cost_at(T0 + timedelta(seconds=7)), 4) == round(0.333333 * 7 / 3600, 4)
    assert round(instance.cost_at(T0 + hours(3)), 4) == 1.0


def test_a_closed_interval_keeps_its_cost_unrounded_so_short_runs_add_up_to_the_micro_dollar() -> None:
    instance = running_instance(T0, cost_per_hour=0.29)
    for second in range(1, 11):
        instance = started_at(
            stopped_at(instance, T0 + timedelta(seconds=second)), T0 + timedelta(seconds=second)
        )

    ten_seconds = 0.29 * 10 / 3600
    assert stopped_at(instance, T0 + timedelta(seconds=10)).closed_cost == pytest.approx(
        ten_seconds, abs=1e-9
    )
