"""An agent whose silence matters is told to beat often, and its silence is judged against what it was
told: a partition is noticed within half a minute, a missed heartbeat or a late switch is not one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dumont_core.agents.logs import InstanceLogs
from dumont_core.agents.repository import ActionRepository
from dumont_core.agents.service import AgentService
from dumont_core.instances.interruptions import InterruptionWatch
from dumont_core.instances.models import Instance, InstanceStatus
from dumont_core.platform.identity import Principal
from tests.integration.instances.conftest import Cloud, Provisioned

REGULAR_SECONDS = 60
LISTENED_SECONDS = 5
CONFIRM_SECONDS = 20
SILENCE_CONFIRM_SECONDS = 10
PASS_SECONDS = 10
READING = {"gpu_utilization": 80.0}


@pytest.fixture
def agents(cloud: Cloud) -> AgentService:
    return AgentService(
        instances=cloud.service,
        actions=ActionRepository(retention=timedelta(days=7)),
        logs=InstanceLogs("/dumont/instances"),
        heartbeat_seconds=REGULAR_SECONDS,
        listened_heartbeat_seconds=LISTENED_SECONDS,
        clock=cloud.clock,
    )


@pytest.fixture
def watch(cloud: Cloud) -> InterruptionWatch:
    return InterruptionWatch(
        instances=cloud.service,
        provider=cloud.provider,
        heartbeat_seconds=REGULAR_SECONDS,
        confirm_seconds=CONFIRM_SECONDS,
        silence_confirm_seconds=SILENCE_CONFIRM_SECONDS,
        clock=cloud.clock,
    )


def agent_of(instance: Instance) -> Principal:
    return Principal(
        account_id=instance.account_id, team_id=instance.team_id, instance_id=instance.instance_id
    )


def beat(agents: AgentService, instance: Instance) -> int:
    """One heartbeat of the instance's agent: the interval its answer tells it."""
    return agents.heartbeat(agent_of(instance), READING).next_heartbeat_in_seconds


def look(cloud: Cloud, watch: InterruptionWatch, *, after_seconds: float) -> list[str]:
    cloud.clock.advance(seconds=after_seconds)
    return watch.look(cloud.provider.list_machines())


def test_an_agent_with_failover_on_is_told_to_beat_often_and_one_without_is_not(
    cloud: Cloud, agents: AgentService
) -> None:
    with_failover = cloud.provision(failover_enabled=True).instance
    without = cloud.provision().instance

    assert beat(agents, with_failover) == LISTENED_SECONDS
    assert beat(agents, without) == REGULAR_SECONDS
    assert cloud.stored(with_failover).heartbeat_interval_seconds == LISTENED_SECONDS


def test_an_agent_a_workflow_waits_on_is_told_to_beat_often_until_its_instance_runs(
    cloud: Cloud, agents: AgentService
) -> None:
    starting = cloud.create()
    assert starting.status == InstanceStatus.STARTING

    assert beat(agents, starting) == LISTENED_SECONDS, "its restore or first action is picked up in seconds"


def partitioned(cloud: Cloud, agents: AgentService) -> Provisioned:
    provisioned = cloud.provision(failover_enabled=True)
    beat(agents, provisioned.instance)
    return provisioned


def test_a_partition_is_noticed_within_half_a_minute_of_the_last_heartbeat(
    cloud: Cloud, agents: AgentService, watch: InterruptionWatch
) -> None:
    provisioned = partitioned(cloud, agents)  # its last heartbeat; the provider goes on saying it runs

    assert look(cloud, watch, after_seconds=PASS_SECONDS) == [], "two intervals of silence are allowed"
    assert cloud.stored(provisioned.instance).suspected_at is None
    assert look(cloud, watch, after_seconds=PASS_SECONDS) == [], "a suspicion first"
    assert cloud.stored(provisioned.instance).suspected_at is not None

    assert look(cloud, watch, after_seconds=PASS_SECONDS) == [provisioned.instance.instance_id], (
        "at the next pass: four heartbeats in a row were missed"
    )
    assert cloud.stored(provisioned.instance).status == InstanceStatus.INTERRUPTED


def test_a_missed_heartbeat_of_a_listened_agent_is_never_an_interruption(
    cloud: Cloud, agents: AgentService, watch: InterruptionWatch
) -> None:
    provisioned = partitioned(cloud, agents)
    cloud.clock.advance(seconds=2 * LISTENED_SECONDS + 1)  # one heartbeat lost, the next one late
    assert watch.look(cloud.provider.list_machines()) == []
    assert cloud.stored(provisioned.instance).suspected_at is not None
    beat(agents, provisioned.instance)

    assert look(cloud, watch, after_seconds=PASS_SECONDS) == []

    stored = cloud.stored(provisioned.instance)
    assert stored.status == InstanceStatus.RUNNING and stored.suspected_at is None


def test_an_agent_told_the_regular_interval_is_not_judged_by_the_short_one(
    cloud: Cloud, agents: AgentService, watch: InterruptionWatch
) -> None:
    provisioned = cloud.provision()
    beat(agents, provisioned.instance)  # told 60 s: failover was off
    cloud.service.transition(
        cloud.stored(provisioned.instance),
        expected=[InstanceStatus.RUNNING],
        changes={"failover_enabled": True},
    )

    for _ in range(5):
        assert look(cloud, watch, after_seconds=PASS_SECONDS) == []
    assert cloud.stored(provisioned.instance).suspected_at is None, "50 s of a 60 s interval is not silence"
    assert beat(agents, provisioned.instance) == LISTENED_SECONDS, "told the short interval from now on"


def test_two_silences_with_a_heartbeat_between_them_are_not_one(
    cloud: Cloud, agents: AgentService, watch: InterruptionWatch
) -> None:
    provisioned = partitioned(cloud, agents)
    look(cloud, watch, after_seconds=2 * LISTENED_SECONDS + 1)  # a first silence: suspected
    suspected_at = cloud.stored(provisioned.instance).suspected_at
    assert suspected_at is not None
    cloud.clock.advance(seconds=1)
    beat(agents, provisioned.instance)  # it was alive after all

    assert look(cloud, watch, after_seconds=2 * LISTENED_SECONDS + 1) == [], "a second, short silence"
    stored = cloud.stored(provisioned.instance)
    assert stored.status == InstanceStatus.RUNNING
    assert stored.suspected_at is not None and stored.suspected_at > suspected_at, "suspected anew"
