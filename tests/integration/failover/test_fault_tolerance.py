"""What failover promises under faults, on the bench's simulated clock with AWS's timings (a pass every
10 s, confirmation after 20 s, a heartbeat a minute): healthy machines are never taken for dead while
heartbeats are lost and the provider answers 5xx, and a series of interruptions of every kind leaves no
machine rented that nobody holds; a CPU standby takes each kind over within the minute, then hands the
instance to a new GPU."""

from __future__ import annotations

import pytest

from benchmarks.failover import RECOVERY_TARGET_SECONDS
from benchmarks.failover_drills import KINDS, healthy_fleet, interruptions
from benchmarks.failover_world import PRINCIPAL, FailoverWorld


@pytest.mark.usefixtures("aws_env")
def test_healthy_machines_are_never_failed_over_for_lost_heartbeats_or_provider_5xx() -> None:
    result = healthy_fleet(machines=3, hours=0.5, drop_rate=0.1, error_rate=0.1, seed=7)

    assert result["machines"] == 3 and result["errors"] == []
    assert result["false_failovers"] == 0


@pytest.mark.usefixtures("aws_env")
def test_the_same_faults_are_lost_heartbeats_to_the_watch_which_waits_for_two_intervals() -> None:
    """Without the agent's retries every lost request would be a lost heartbeat; the faults do reach it.
    An agent with failover on beats every few seconds, so its silence is noticed within half a minute."""
    with FailoverWorld(seed=3) as world:
        instance_id = world.create_instance(failover_enabled=True).instance_id
        assert world.timeline.run_until(lambda: world.running_with_agent(instance_id), 600)
        agent = world.agent_of(world.instance(instance_id))
        assert agent is not None and agent.interval == world.timings.listened_heartbeat_seconds
        world.heartbeat_drops.set(1.0)

        world.timeline.run_for(2 * world.timings.listened_heartbeat_seconds)
        assert world.instance(instance_id).status == "running", "two intervals of silence are allowed"
        world.timeline.run_for(30 - 2 * world.timings.listened_heartbeat_seconds)

        assert world.interrupted_at.get(instance_id), "a machine silent for half a minute is taken for lost"
        world.instances.delete(PRINCIPAL, instance_id)


@pytest.mark.usefixtures("aws_env")
def test_interruptions_of_every_kind_leave_nothing_rented_and_lose_no_checkpointed_file() -> None:
    result = interruptions(rounds=1, seed=11, strategies=["snapshot"])

    incidents = result["incidents"]["snapshot"]
    assert sorted(incident["kind"] for incident in incidents) == sorted(KINDS)
    assert [incident["outcome"] for incident in incidents] == ["recovered"] * len(KINDS)
    assert all(incident["kept_back"] and incident["late_lost"] for incident in incidents)
    assert all(incident["lost_window"] <= incident["reported_window"] + 0.5 for incident in incidents)
    assert result["orphans_after_interruptions"] == 0
    assert result["rented_after_deleting"] == 0
    assert result["errors"] == []


@pytest.mark.usefixtures("aws_env")
def test_a_cpu_standby_takes_every_kind_of_interruption_over_then_a_new_gpu_gets_the_files() -> None:
    result = interruptions(rounds=1, seed=11, strategies=["cpu_standby"])

    incidents = result["incidents"]["cpu_standby"]
    assert sorted(incident["kind"] for incident in incidents) == sorted(KINDS)
    assert [incident["outcome"] for incident in incidents] == ["recovered"] * len(KINDS)
    assert [incident["running_on"] for incident in incidents] == ["cpu_standby"] * len(KINDS)
    assert all(incident["kept_back"] and incident["late_lost"] for incident in incidents), "on the CPU"
    assert all(incident["recovery"] <= RECOVERY_TARGET_SECONDS for incident in incidents)
    assert all(incident["kept_on_gpu"] for incident in incidents)
    assert all(incident["back_on_gpu"] > incident["recovery"] for incident in incidents)
    assert result["orphans_after_interruptions"] == 0
    assert result["rented_after_deleting"] == 0, "the standbys are terminated with their instances"
    assert result["errors"] == [] and result["not_run"] == {}
