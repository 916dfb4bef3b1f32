"""A running instance whose machine dies is noticed, confirmed and interrupted; one bad look is not."""

from __future__ import annotations

import pytest

from dumont_core.instances.interruptions import InterruptionWatch
from dumont_core.instances.models import EventType, InstanceStatus, PowerAction
from dumont_core.providers.models import ProviderMachineStatus, ProviderUnavailable
from tests.integration.instances.conftest import Cloud, Provisioned

CONFIRM_SECONDS = 20
HEARTBEAT_SECONDS = 60
READING = {"gpu_utilization": 80.0}


@pytest.fixture
def watch(cloud: Cloud) -> InterruptionWatch:
    return InterruptionWatch(
        instances=cloud.service,
        provider=cloud.provider,
        heartbeat_seconds=HEARTBEAT_SECONDS,
        confirm_seconds=CONFIRM_SECONDS,
        clock=cloud.clock,
    )


def look(cloud: Cloud, watch: InterruptionWatch, *, after_seconds: float = 0) -> list[str]:
    cloud.clock.advance(seconds=after_seconds)
    return watch.look(cloud.provider.list_machines())


def heartbeat(cloud: Cloud, provisioned: Provisioned) -> None:
    cloud.service.record_heartbeat(provisioned.instance.team_id, provisioned.instance.instance_id, READING)


def interruptions(cloud: Cloud, provisioned: Provisioned) -> list[dict[str, object]]:
    return [
        event.details
        for event in cloud.published(provisioned.instance)
        if event.type == EventType.INTERRUPTED
    ]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Instance stopped: outbid by a higher priority contract", "spot_preemption"),
        ("Host is offline: lost contact with the machine", "host_offline"),
        ("Instance stopped: the host is down for scheduled maintenance", "host_offline"),
    ],
)
def test_a_machine_the_provider_reports_dead_interrupts_its_instance_once_confirmed(
    cloud: Cloud, watch: InterruptionWatch, message: str, reason: str
) -> None:
    provisioned = cloud.provision()
    heartbeat(cloud, provisioned)
    died_at = cloud.clock()
    cost_at_death = round(cloud.stored(provisioned.instance).cost_at(died_at), 4)
    provisioned.machine.status, provisioned.machine.status_message = ProviderMachineStatus.FAILED, message

    assert look(cloud, watch, after_seconds=5) == [], "one look is a suspicion, not an interruption"
    assert cloud.stored(provisioned.instance).suspected_at is not None
    assert look(cloud, watch, after_seconds=CONFIRM_SECONDS - 1) == [], "not yet long enough"

    assert look(cloud, watch, after_seconds=1) == [provisioned.instance.instance_id]

    interrupted = cloud.stored(provisioned.instance)
    assert interrupted.status == InstanceStatus.INTERRUPTED
    assert interrupted.status_reason is not None and interrupted.status_reason.startswith(
        f"interrupted ({reason})"
    )
    assert interrupted.provider_instance_id is None and interrupted.ip_address is None
    cloud.clock.advance(hours=3)
    assert round(interrupted.cost_at(cloud.clock()), 4) == cost_at_death, "billed until it was last alive"
    assert provisioned.machine.machine_id in cloud.provider.destroyed
    assert interruptions(cloud, provisioned) == [
        {
            "gpu": "RTX 4090",
            "reason": reason,
            "died_at": died_at.isoformat(),
            "detected_after_seconds": CONFIRM_SECONDS + 5,
        }
    ], "said when it died and how long noticing took; no data window without a snapshot"
    assert cloud.service.running() == [], "no longer indexed as running"


def test_a_machine_the_provider_no_longer_has_is_lost(cloud: Cloud, watch: InterruptionWatch) -> None:
    provisioned = cloud.provision()
    del cloud.provider.machines[provisioned.machine.machine_id]

    cloud.service.snapshot_completed(
        provisioned.instance.team_id, provisioned.instance.instance_id, snapshot_id="snap_00000000000000a1"
    )
    cloud.clock.advance(seconds=90)
    first_seen_dead = cloud.clock()
    look(cloud, watch)
    assert look(cloud, watch, after_seconds=CONFIRM_SECONDS) == [provisioned.instance.instance_id]

    assert interruptions(cloud, provisioned) == [
        {
            "gpu": "RTX 4090",
            "reason": "machine_lost",
            "died_at": first_seen_dead.isoformat(),
            "detected_after_seconds": CONFIRM_SECONDS,
            "data_window_seconds": 90,
        }
    ], "dead since the first look that saw it gone; 90 s of work since its snapshot lost"


def test_a_silent_agent_on_a_machine_the_provider_says_runs_is_lost_with_failover_on(
    cloud: Cloud, watch: InterruptionWatch
) -> None:
    provisioned = cloud.provision(failover_enabled=True)
    heartbeat(cloud, provisioned)
    last_heard = cloud.clock()
    cost_when_last_heard = round(cloud.stored(provisioned.instance).cost_at(last_heard), 4)

    assert look(cloud, watch, after_seconds=2 * HEARTBEAT_SECONDS) == [], (
        "two intervals of silence are allowed"
    )
    assert cloud.stored(provisioned.instance).suspected_at is None
    look(cloud, watch, after_seconds=1)
    assert look(cloud, watch, after_seconds=CONFIRM_SECONDS) == [provisioned.instance.instance_id]

    interrupted = cloud.stored(provisioned.instance)
    assert interrupted.status_reason is not None and "no heartbeat" in interrupted.status_reason
    assert round(interrupted.cost_at(cloud.clock()), 4) == cost_when_last_heard
    assert interruptions(cloud, provisioned)[0]["reason"] == "machine_lost"


def test_a_signal_gone_before_confirmation_interrupts_nothing(cloud: Cloud, watch: InterruptionWatch) -> None:
    provisioned = cloud.provision()
    provisioned.machine.status = ProviderMachineStatus.FAILED
    look(cloud, watch)
    provisioned.machine.status = ProviderMachineStatus.RUNNING

    assert look(cloud, watch, after_seconds=CONFIRM_SECONDS) == []

    stored = cloud.stored(provisioned.instance)
    assert stored.status == InstanceStatus.RUNNING and stored.suspected_at is None
    assert interruptions(cloud, provisioned) == []


def test_a_list_that_lost_a_machine_is_checked_against_the_machine_itself(
    cloud: Cloud, watch: InterruptionWatch
) -> None:
    provisioned = cloud.provision()
    # Two answers listing no machines at all, though the machine runs: a glitch of the list.
    watch.look([])
    cloud.clock.advance(seconds=CONFIRM_SECONDS)

    assert watch.look([]) == []

    assert cloud.stored(provisioned.instance).status == InstanceStatus.RUNNING
    assert provisioned.machine.machine_id not in cloud.provider.destroyed


def test_a_restarted_machine_is_not_judged_by_the_heartbeats_before_it(
    cloud: Cloud, watch: InterruptionWatch
) -> None:
    provisioned = cloud.provision(failover_enabled=True)
    heartbeat(cloud, provisioned)
    cloud.ask(provisioned.instance, PowerAction.REBOOT)
    cloud.steps.request_power_action(provisioned.ref, PowerAction.REBOOT)
    provisioned.machine.comes_up()
    cloud.clock.advance(seconds=10 * HEARTBEAT_SECONDS)  # a long reboot
    cloud.steps.check_power_action(provisioned.ref, PowerAction.REBOOT)

    look(cloud, watch)
    assert look(cloud, watch, after_seconds=CONFIRM_SECONDS) == []

    assert cloud.stored(provisioned.instance).status == InstanceStatus.RUNNING


def test_a_silent_agent_alone_never_interrupts_an_instance_without_failover(
    cloud: Cloud, watch: InterruptionWatch
) -> None:
    provisioned = cloud.provision()
    heartbeat(cloud, provisioned)

    look(cloud, watch, after_seconds=10 * HEARTBEAT_SECONDS)
    assert look(cloud, watch, after_seconds=CONFIRM_SECONDS) == []

    assert cloud.stored(provisioned.instance).status == InstanceStatus.RUNNING
    assert provisioned.machine.machine_id not in cloud.provider.destroyed


def test_a_provider_that_cannot_answer_the_confirmation_leaves_the_suspicion_for_the_next_look(
    cloud: Cloud, watch: InterruptionWatch
) -> None:
    provisioned = cloud.provision()
    provisioned.machine.status = ProviderMachineStatus.FAILED
    look(cloud, watch)
    cloud.provider.fail_next("get_machine", ProviderUnavailable("Vast.ai answered 502", status_code=502))

    assert look(cloud, watch, after_seconds=CONFIRM_SECONDS) == []
    assert cloud.stored(provisioned.instance).suspected_at is not None

    assert look(cloud, watch, after_seconds=1) == [provisioned.instance.instance_id]


def test_a_machine_whose_agent_was_long_silent_is_billed_until_first_seen_dead(
    cloud: Cloud, watch: InterruptionWatch
) -> None:
    provisioned = cloud.provision()
    heartbeat(cloud, provisioned)
    cloud.clock.advance(hours=1)  # the agent stopped reporting; the machine ran on, billed
    provisioned.machine.status = ProviderMachineStatus.FAILED
    look(cloud, watch)
    first_seen_dead = cloud.clock()
    cost_then = round(cloud.stored(provisioned.instance).cost_at(first_seen_dead), 4)

    look(cloud, watch, after_seconds=CONFIRM_SECONDS)

    assert round(cloud.stored(provisioned.instance).cost_at(cloud.clock()), 4) == cost_then
