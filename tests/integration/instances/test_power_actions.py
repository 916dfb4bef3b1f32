"""Stop, start and reboot: each reaches its state as the provider reports it, and bills only running time."""

from __future__ import annotations

import pytest

from dumont_core.instances.models import EventType, InstanceStatus, PowerAction
from dumont_core.instances.step_support import PowerActionTimedOut
from dumont_core.platform.workflows import Workflow
from dumont_core.providers.models import (
    ProviderMachineNotFound,
    ProviderMachineStatus,
    ProviderRequestRejected,
    ProviderUnavailable,
)
from tests.fakes.workflows import step_failure
from tests.integration.instances.conftest import Cloud, Provisioned, ref_of


def stop(cloud: Cloud, booted: Provisioned) -> None:
    """The user stops the instance and the provider stops its machine."""
    cloud.ask(booted.instance, PowerAction.STOP)
    booted.machine.status = ProviderMachineStatus.STOPPED
    cloud.steps.check_power_action(booted.ref, PowerAction.STOP)


def refused_stop(cloud: Cloud, booted: Provisioned) -> ProviderRequestRejected:
    """The user stops the instance and the provider refuses to; what the provider raised."""
    cloud.ask(booted.instance, PowerAction.STOP)
    cloud.provider.fail_next("stop", ProviderRequestRejected("instance is locked", status_code=400))
    with pytest.raises(ProviderRequestRejected) as caught:
        cloud.steps.request_power_action(booted.ref, PowerAction.STOP)
    return caught.value


def test_stop_then_start_reach_their_states_and_bill_only_the_running_time(cloud: Cloud) -> None:
    booted = cloud.provision(region="us-east")
    instance, machine = booted.instance, booted.machine
    ref = ref_of(instance)
    assert instance.cost_per_hour == pytest.approx(0.33)

    cloud.clock.advance(hours=1)
    stopping = cloud.ask(instance, PowerAction.STOP)
    assert stopping.status == InstanceStatus.STOPPING
    workflow, _, payload = cloud.starter.started[-1]
    assert workflow == Workflow.STOP
    assert payload["instance"] == {"team_id": "team_1", "instance_id": instance.instance_id}

    cloud.steps.request_power_action(ref, PowerAction.STOP)
    assert cloud.provider.power_requests == [("stop", machine.machine_id)]
    cloud.clock.advance(seconds=20)
    assert cloud.steps.check_power_action(ref, PowerAction.STOP) == {"state": "pending"}
    machine.status = ProviderMachineStatus.STOPPED
    cloud.clock.advance(seconds=40)
    assert cloud.steps.check_power_action(ref, PowerAction.STOP) == {"state": "done"}

    stopped = cloud.stored(instance)
    assert stopped.status == InstanceStatus.STOPPED
    assert stopped.billed_seconds == pytest.approx(3660), "billed until the provider stopped it"
    cloud.clock.advance(hours=10)
    assert round(stopped.cost_at(cloud.clock()), 4) == pytest.approx(0.33 * 3660 / 3600, abs=1e-4)
    assert stopped.uptime_seconds_at(cloud.clock()) == 0

    cloud.ask(instance, PowerAction.START)
    assert cloud.stored(instance).status == InstanceStatus.STARTING
    cloud.steps.request_power_action(ref, PowerAction.START)
    machine.comes_up(ip="203.0.113.99")
    started_at = cloud.clock.advance(seconds=30)
    assert cloud.steps.check_power_action(ref, PowerAction.START) == {"state": "done"}

    running = cloud.stored(instance)
    assert running.status == InstanceStatus.RUNNING
    assert running.ip_address == "203.0.113.99"
    assert running.running_since == started_at
    cloud.clock.advance(hours=1)
    assert running.uptime_seconds_at(cloud.clock()) == 3600
    assert round(running.cost_at(cloud.clock()), 4) == pytest.approx(0.33 * (3660 + 3600) / 3600, abs=1e-4)
    assert [event.type for event in cloud.published(instance)][-2:] == [
        EventType.STOPPED,
        EventType.STARTED,
    ]
    assert cloud.timeline(instance)[-2:] == ["instance.stopped", "instance.started"]


def test_reboot_returns_to_running_without_interrupting_billing(cloud: Cloud) -> None:
    booted = cloud.provision()
    instance, machine = booted.instance, booted.machine
    ref = ref_of(instance)
    cloud.clock.advance(hours=1)

    assert cloud.ask(instance, PowerAction.REBOOT).status == InstanceStatus.REBOOTING
    cloud.steps.request_power_action(ref, PowerAction.REBOOT)
    assert cloud.provider.power_requests == [("reboot", machine.machine_id)]
    assert cloud.steps.check_power_action(ref, PowerAction.REBOOT) == {"state": "pending"}
    machine.comes_up()
    cloud.clock.advance(minutes=2)
    assert cloud.steps.check_power_action(ref, PowerAction.REBOOT) == {"state": "done"}

    rebooted = cloud.stored(instance)
    assert rebooted.status == InstanceStatus.RUNNING
    assert rebooted.running_since == instance.running_since
    cloud.clock.advance(hours=1)
    assert rebooted.billed_seconds_at(cloud.clock()) == pytest.approx(2 * 3600 + 120)
    assert cloud.published(instance)[-1].type == EventType.REBOOTED


def test_a_power_action_the_provider_never_carries_out_times_out(cloud: Cloud) -> None:
    instance = cloud.provision().instance
    ref = ref_of(instance)
    cloud.ask(instance, PowerAction.STOP)
    cloud.steps.request_power_action(ref, PowerAction.STOP)

    cloud.clock.advance(seconds=299)
    assert cloud.steps.check_power_action(ref, PowerAction.STOP) == {"state": "pending"}
    cloud.clock.advance(seconds=2)
    with pytest.raises(PowerActionTimedOut, match="did not stop the machine within 300 s"):
        cloud.steps.check_power_action(ref, PowerAction.STOP)


def test_a_failed_stop_leaves_the_instance_running_as_the_provider_reports(cloud: Cloud) -> None:
    booted = cloud.provision()
    instance = booted.instance
    ref = ref_of(instance)
    cloud.clock.advance(hours=1)
    refused = refused_stop(cloud, booted)
    cloud.clock.advance(seconds=5)

    reconciled_to = cloud.steps.fail_power_action(ref, PowerAction.STOP, step_failure(refused))

    assert reconciled_to == {"status": "running"}
    reconciled = cloud.stored(instance)
    assert reconciled.status == InstanceStatus.RUNNING
    assert reconciled.status_reason == "stop failed: ProviderRequestRejected: instance is locked"
    assert reconciled.running_since == instance.running_since, "still running, still billed"
    assert reconciled.ip_address == instance.ip_address
    event = cloud.published(instance)[-1]
    assert event.type == EventType.ACTION_FAILED
    assert event.details == {"action": "stop", "reason": "ProviderRequestRejected: instance is locked"}
    assert cloud.timeline(instance)[-1] == "instance.action_failed"


def test_a_failed_start_leaves_the_instance_stopped_and_unbilled(cloud: Cloud) -> None:
    booted = cloud.provision()
    instance = booted.instance
    ref = ref_of(instance)
    cloud.clock.advance(hours=1)
    stop(cloud, booted)
    cloud.ask(instance, PowerAction.START)
    cloud.steps.request_power_action(ref, PowerAction.START)
    cloud.clock.advance(seconds=301)
    with pytest.raises(PowerActionTimedOut) as caught:
        cloud.steps.check_power_action(ref, PowerAction.START)

    assert cloud.steps.fail_power_action(ref, PowerAction.START, step_failure(caught.value)) == {
        "status": "stopped"
    }

    reconciled = cloud.stored(instance)
    assert reconciled.status == InstanceStatus.STOPPED
    assert reconciled.status_reason is not None and reconciled.status_reason.startswith(
        "start failed: PowerActionTimedOut"
    )
    cloud.clock.advance(hours=5)
    assert reconciled.billed_seconds_at(cloud.clock()) == pytest.approx(3600)


def test_a_machine_gone_at_the_provider_during_a_reboot_marks_the_instance_failed(cloud: Cloud) -> None:
    booted = cloud.provision(region="us-east")
    instance = booted.instance
    ref = ref_of(instance)
    cloud.clock.advance(hours=2)
    cloud.ask(instance, PowerAction.REBOOT)
    del cloud.provider.machines[booted.machine.machine_id]
    with pytest.raises(ProviderMachineNotFound) as caught:
        cloud.steps.request_power_action(ref, PowerAction.REBOOT)
    cloud.clock.advance(seconds=10)

    assert cloud.steps.fail_power_action(ref, PowerAction.REBOOT, step_failure(caught.value)) == {
        "status": "failed"
    }

    failed = cloud.stored(instance)
    assert failed.status == InstanceStatus.FAILED
    assert failed.ip_address is None and failed.ssh_port is None
    assert failed.running_since is None
    assert failed.billed_seconds == pytest.approx(2 * 3600 + 10)
    cloud.clock.advance(hours=3)
    assert round(failed.cost_at(cloud.clock()), 4) == pytest.approx(0.33 * (7210 / 3600), abs=1e-4)


# Known problems ----------------------------------------------------------------------------------


def test_hours_billed_before_a_price_change_keep_their_price(cloud: Cloud) -> None:
    booted = cloud.provision(region="us-east")
    assert booted.instance.cost_per_hour == pytest.approx(0.33)
    cloud.clock.advance(hours=1)
    stop(cloud, booted)
    cloud.ask(booted.instance, PowerAction.START)
    # The host now charges more for the same machine.
    booted.machine.price_per_hour = 1.00
    booted.machine.comes_up()
    cloud.steps.check_power_action(booted.ref, PowerAction.START)
    cloud.clock.advance(hours=1)

    assert round(cloud.stored(booted.instance).cost_at(cloud.clock()), 4) == pytest.approx(0.33 + 1.00)


def test_a_provider_outage_while_reconciling_a_failed_action_is_retried_not_recorded(cloud: Cloud) -> None:
    booted = cloud.provision(region="us-east")
    ref = booted.ref
    cloud.clock.advance(hours=1)
    refused = refused_stop(cloud, booted)
    cloud.provider.fail_next("get_machine", ProviderUnavailable("502 from the provider", status_code=502))

    with pytest.raises(ProviderUnavailable):
        cloud.steps.fail_power_action(ref, PowerAction.STOP, step_failure(refused))
    assert cloud.stored(booted.instance).status == InstanceStatus.STOPPING

    # The retry finds the machine still running.
    retried = cloud.steps.fail_power_action(ref, PowerAction.STOP, step_failure(refused))
    assert retried == {"status": "running"}
