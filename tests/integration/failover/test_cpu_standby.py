"""The `cpu_standby` strategy over the real instance service and agents (moto's DynamoDB) and moto's EC2:
keeping the standby, its agent's identity, handing an instance to it, the workflow's steps, and the pass
that terminates the standbys nobody keeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from dumont_core.failover.cpu_failover_steps import StandbyLost
from dumont_core.failover.cpu_standby import CpuStandbyPath
from dumont_core.failover.paths import FailoverRecovery
from dumont_core.failover.service import FailoverService
from dumont_core.instances.interruptions import InterruptionWatch
from dumont_core.instances.models import EventType, FailoverStrategy, InstanceStatus, InterruptionReason
from dumont_core.platform.workflows import Workflow
from dumont_core.providers.cpu_machines import CpuMachineRequest
from dumont_core.providers.ec2 import DEPLOYMENT_TAG, LABEL_TAG
from dumont_core.providers.models import ProviderMachineStatus
from tests.fakes.clock import Clock
from tests.fakes.meter import CountingMeter
from tests.fakes.workflows import step_failure
from tests.integration.failover.standbys import NEWER_SNAPSHOT, SNAPSHOT, TEAM, Standbys, assert_documented
from tests.integration.instances.conftest import ref_of


def test_the_standby_is_launched_tagged_with_its_own_agent_and_the_users_key(standbys: Standbys) -> None:
    instance = standbys.running_with_failover().instance

    standby = standbys.keep_ready(instance).standby

    assert standby is not None and (standby.kind, standby.provider, standby.state) == (
        "cpu",
        "ec2",
        "renting",
    )
    assert standby.agent_token_digest is not None
    assert standby.agent_token_digest != standbys.cloud.stored(instance).agent_token_digest
    (described,) = standbys.ec2.describe_instances(InstanceIds=[standby.machine_id])["Reservations"]
    tags = {tag["Key"]: tag["Value"] for tag in described["Instances"][0]["Tags"]}
    assert tags[LABEL_TAG] == standbys.cloud.label(instance) and tags[DEPLOYMENT_TAG] == "dumont"
    agent = standbys.standby_agent(instance)
    assert agent.standby and agent.instance_id == instance.instance_id
    assert standby.machine_id is not None


def test_each_newer_checkpoint_is_restored_on_the_standby_which_then_waits_stopped(
    standbys: Standbys,
) -> None:
    instance = standbys.running_with_failover().instance
    standbys.keep_ready(instance)
    agent = standbys.standby_agent(instance)

    syncing = standbys.keep_ready(instance).standby
    assert syncing is not None and (syncing.state, syncing.syncing_snapshot_id) == ("syncing", SNAPSHOT)
    (asked,) = standbys.agents.heartbeat(agent, {}).actions
    assert (asked["type"], asked["snapshot_id"]) == ("restore", SNAPSHOT)
    assert standbys.agents.actions.pending(instance.instance_id) == [], "the GPU's agent is not asked"
    standbys.agents.report(agent, asked["id"], "completed", {}, None)

    ready = standbys.keep_ready(instance).standby

    assert ready is not None and (ready.state, ready.synced_snapshot_id) == ("ready", SNAPSHOT)
    assert standbys.state(str(ready.machine_id)) == "stopped"
    assert ready.cost_per_hour == standbys.machines.stopped_cost_per_hour(instance.disk_gb) > 0
    standbys.checkpointed(instance, NEWER_SNAPSHOT)
    again = standbys.keep_ready(instance).standby
    assert again is not None and (again.state, again.syncing_snapshot_id) == ("syncing", NEWER_SNAPSHOT)
    assert standbys.state(str(again.machine_id)) in ("pending", "running"), "started to restore"


def test_the_standbys_heartbeats_count_as_the_instances_only_while_it_runs_there(standbys: Standbys) -> None:
    instance = standbys.running_with_failover().instance
    standbys.synced(instance)
    agent = standbys.standby_agent(instance)
    standbys.cloud.clock.advance(seconds=30)

    standbys.agents.heartbeat(agent, {"cpu_utilization": 5.0})

    assert standbys.cloud.stored(instance).last_heartbeat_at != standbys.cloud.clock()


def test_while_the_instance_runs_on_its_standby_that_agent_reports_for_it(standbys: Standbys) -> None:
    provisioned = standbys.running_with_failover()
    standbys.synced(provisioned.instance)
    instance = standbys.cloud.stored(provisioned.instance)
    interrupted = standbys.cloud.service.interrupt(
        instance, InterruptionReason.HOST_OFFLINE, "x", standbys.cloud.clock()
    )
    standbys.path.recover(interrupted)
    steps, ref = standbys.steps(), ref_of(instance)
    steps.start_standby(ref)
    steps.start_standby(ref)
    steps.activate_standby(ref)
    standbys.cloud.clock.advance(seconds=30)

    standbys.agents.heartbeat(standbys.standby_agent(instance), {"cpu_utilization": 5.0})

    assert standbys.cloud.stored(instance).last_heartbeat_at == standbys.cloud.clock()


def test_leaving_the_strategy_terminates_the_standby_at_once(standbys: Standbys) -> None:
    instance = standbys.running_with_failover().instance
    machine_id = str(standbys.keep_ready(instance).standby.machine_id)  # type: ignore[union-attr]
    recovery = FailoverRecovery(
        instances=standbys.cloud.service,
        fallback=standbys.fallback,
        paths={FailoverStrategy.CPU_STANDBY: standbys.path},
    )
    failover = FailoverService(
        instances=standbys.cloud.service, recovery=recovery, clock=standbys.cloud.clock
    )

    failover.configure(
        TEAM,
        instance.instance_id,
        enabled=True,
        strategy=FailoverStrategy.SNAPSHOT,
        checkpoint_interval_minutes=None,
    )

    assert standbys.state(machine_id) == "gone"
    assert standbys.cloud.stored(instance).standby is None


def test_a_dead_gpu_is_handed_to_the_ready_standby_through_its_workflow(standbys: Standbys) -> None:
    provisioned = standbys.running_with_failover()
    standbys.synced(provisioned.instance)
    interrupted = standbys.host_offline(provisioned.instance)
    recovery = FailoverRecovery(
        instances=standbys.cloud.service,
        fallback=standbys.fallback,
        paths={FailoverStrategy.CPU_STANDBY: standbys.path},
    )

    taking_over = recovery.recover(interrupted)

    assert taking_over is not None and taking_over.status == InstanceStatus.WAKING
    assert taking_over.standby is not None and taking_over.standby.state == "taking_over"
    assert [started[0] for started in standbys.cloud.starter.started][-1] == Workflow.CPU_FAILOVER
    (started,) = [e for e in standbys.cloud.published(interrupted) if e.type == EventType.FAILOVER_STARTED]
    assert started.details["strategy"] == "cpu_standby"
    assert standbys.fallback.asked == []


def test_a_standby_dead_too_falls_back_to_the_snapshot_path(standbys: Standbys) -> None:
    provisioned = standbys.running_with_failover()
    standby = standbys.synced(provisioned.instance).standby
    assert standby is not None and standby.machine_id is not None
    standbys.ec2.terminate_instances(InstanceIds=[standby.machine_id])
    interrupted = standbys.host_offline(provisioned.instance)
    recovery = FailoverRecovery(
        instances=standbys.cloud.service,
        fallback=standbys.fallback,
        paths={FailoverStrategy.CPU_STANDBY: standbys.path},
    )

    recovery.recover(interrupted)

    assert [asked.instance_id for asked in standbys.fallback.asked] == [interrupted.instance_id]
    assert standbys.cloud.stored(interrupted).standby is None


def test_the_workflow_moves_the_instance_to_the_standby_then_back_to_a_gpu(standbys: Standbys) -> None:
    provisioned = standbys.running_with_failover()
    standbys.synced(provisioned.instance)
    instance = standbys.cloud.stored(provisioned.instance)
    interrupted = standbys.cloud.service.interrupt(
        instance, InterruptionReason.HOST_OFFLINE, "outbid", standbys.cloud.clock()
    )
    standbys.path.recover(interrupted)
    steps, ref = standbys.steps(), ref_of(instance)

    assert steps.start_standby(ref)["state"] == "pending", "it was stopped: started now"
    up = steps.start_standby(ref)
    assert (up["state"], up["needs_sync"]) == ("running", False)
    standbys.cloud.clock.advance(seconds=20)
    steps.activate_standby(ref)
    on_cpu = standbys.cloud.stored(instance)
    assert on_cpu.running_on == "cpu_standby" and on_cpu.ip_address == on_cpu.standby.ip_address  # type: ignore[union-attr]
    gpu_id = standbys.cloud.steps.rent_machine(
        ref, standbys.cloud.steps.choose_offers(ref, waking=True)["candidates"], waking=True
    )["provider_instance_id"]
    assert steps.check_gpu_boot(ref, gpu_id) == {"state": "pending"}
    standbys.cloud.provider.machines[gpu_id].comes_up(ip="198.51.100.9")
    assert steps.check_gpu_boot(ref, gpu_id) == {"state": "running"}
    steps.record_standby_snapshot(ref, NEWER_SNAPSHOT)
    steps.switch_back(ref)

    back = standbys.cloud.stored(instance)
    assert (back.status, back.running_on, back.ip_address) == (InstanceStatus.RUNNING, "gpu", "198.51.100.9")
    assert back.last_snapshot_id == NEWER_SNAPSHOT and back.standby is not None
    assert (back.standby.state, back.standby.synced_snapshot_id) == ("ready", NEWER_SNAPSHOT)
    assert standbys.state(str(back.standby.machine_id)) == "stopped"
    (completed,) = [e for e in standbys.cloud.published(instance) if e.type == EventType.FAILOVER_COMPLETED]
    assert completed.details["strategy"] == "cpu_standby"
    assert completed.details["recovered_after_seconds"] == 20.0
    assert_documented(standbys.cloud.published(instance))


def test_a_failed_step_gives_back_the_gpu_stops_the_standby_and_falls_back(standbys: Standbys) -> None:
    provisioned = standbys.running_with_failover()
    standbys.synced(provisioned.instance)
    instance = standbys.cloud.stored(provisioned.instance)
    interrupted = standbys.cloud.service.interrupt(
        instance, InterruptionReason.HOST_OFFLINE, "outbid", standbys.cloud.clock()
    )
    standbys.path.recover(interrupted)
    steps, ref = standbys.steps(), ref_of(instance)
    steps.start_standby(ref)
    steps.start_standby(ref)
    steps.activate_standby(ref)
    cloud_steps = standbys.cloud.steps
    gpu_id = cloud_steps.rent_machine(
        ref, cloud_steps.choose_offers(ref, waking=True)["candidates"], waking=True
    )["provider_instance_id"]

    steps.fail(ref, step_failure(StandbyLost("the CPU standby stopped answering")), None)

    after = standbys.cloud.stored(instance)
    assert after.status == InstanceStatus.INTERRUPTED and "CPU failover failed" in str(after.status_reason)
    assert (
        gpu_id not in standbys.cloud.provider.machines or standbys.cloud.provider.machines[gpu_id].destroyed
    )
    assert after.standby is not None and standbys.state(str(after.standby.machine_id)) == "stopped"
    assert [asked.instance_id for asked in standbys.fallback.asked] == [instance.instance_id]
    (failed,) = [e for e in standbys.cloud.published(instance) if e.type == EventType.FAILOVER_FAILED]
    assert failed.details["strategy"] == "cpu_standby"
    assert_documented(standbys.cloud.published(instance))


def test_the_pass_terminates_standbys_nobody_keeps_and_only_those(standbys: Standbys) -> None:
    kept = standbys.running_with_failover().instance
    deleted = standbys.running_with_failover().instance
    standbys.keep_ready(kept)
    standbys.keep_ready(deleted)
    kept_machine = str(standbys.cloud.stored(kept).standby.machine_id)  # type: ignore[union-attr]
    deleted_machine = str(standbys.cloud.stored(deleted).standby.machine_id)  # type: ignore[union-attr]
    standbys.cloud.delete(deleted)
    stray = standbys.machines.launch(
        CpuMachineRequest(
            label=standbys.cloud.label(kept), deployment="dumont", user_data="#!/bin/bash\n", disk_gb=20
        )
    ).machine_id

    now = Clock(datetime.now(UTC))
    sweeping = CpuStandbyPath(**{**standbys.path.__dict__, "clock": now})
    assert sorted(sweeping.sweep()) == [deleted_machine], "a standby launched a moment ago may be unrecorded"
    now.advance(minutes=5)
    assert sweeping.sweep() == [stray]

    assert standbys.state(kept_machine) in ("pending", "running")
    assert standbys.state(deleted_machine) == "gone" and standbys.state(stray) == "gone"
    assert "instance.orphan_destroyed" in standbys.cloud.timeline(kept)
    assert_documented(standbys.cloud.published(kept))


def test_a_team_that_cannot_pay_for_a_new_gpu_is_not_failed_over_and_is_told_why(standbys: Standbys) -> None:
    provisioned = standbys.running_with_failover()
    standbys.synced(provisioned.instance)
    interrupted = standbys.host_offline(provisioned.instance)
    broke = CountingMeter()
    broke.refuses = True
    service = replace(standbys.cloud.service, meter=broke)
    recovery = FailoverRecovery(
        instances=service,
        fallback=standbys.fallback,
        paths={FailoverStrategy.CPU_STANDBY: replace(standbys.path, instances=service)},
    )
    started_before = list(standbys.cloud.starter.started)

    assert recovery.recover(interrupted) is None

    stored = standbys.cloud.stored(interrupted)
    assert stored.status == InstanceStatus.INTERRUPTED, "recoverable from its snapshot after a top-up"
    assert stored.status_reason is not None and "not recovered: Insufficient balance" in stored.status_reason
    assert stored.standby is not None and stored.standby.state == "ready", "the standby is kept"
    assert standbys.cloud.starter.started == started_before, "no GPU rented"
    assert standbys.fallback.asked == [], "nor through the snapshot's path"
    (failed,) = [e for e in standbys.cloud.published(interrupted) if e.type == EventType.FAILOVER_FAILED]
    assert "Insufficient balance" in failed.details["reason"]


def test_the_standby_starts_when_the_gpu_first_looks_dead_and_rests_again_when_it_lives(
    standbys: Standbys,
) -> None:
    """A stopped EC2 machine takes 15 to 40 s to start, the death 20 to 30 s to confirm: started at the
    first suspicion, the standby is up about when the takeover needs it. A false alarm costs a start."""
    cloud = standbys.cloud
    instance = standbys.synced(standbys.running_with_failover().instance)
    standby_id = str(instance.standby.machine_id)  # type: ignore[union-attr]
    paths = {FailoverStrategy.CPU_STANDBY: standbys.path}
    recovery = FailoverRecovery(instances=cloud.service, fallback=standbys.fallback, paths=paths)
    watch = InterruptionWatch(
        instances=cloud.service,
        provider=cloud.provider,
        heartbeat_seconds=60,
        confirm_seconds=20,
        recovery=recovery,
        clock=cloud.clock,
    )
    gpu = cloud.provider.machines[str(instance.provider_instance_id)]
    gpu.status = ProviderMachineStatus.FAILED

    assert watch.look(cloud.provider.list_machines()) == [], "one look interrupts nothing"

    assert standbys.state(standby_id) in ("pending", "running")
    started = standbys.keep_ready(instance).standby
    assert started is not None and started.cost_per_hour == standbys.machines.cost_per_hour, "billed running"
    assert standbys.state(standby_id) in ("pending", "running"), "housekeeping leaves it for the takeover"

    gpu.status = ProviderMachineStatus.RUNNING
    cloud.clock.advance(seconds=10)
    watch.look(cloud.provider.list_machines())
    assert cloud.stored(instance).standby == started, "the watch leaves a CPU standby to housekeeping"
    rested = standbys.keep_ready(instance).standby

    assert cloud.stored(instance).status == InstanceStatus.RUNNING
    assert standbys.state(standby_id) in ("stopping", "stopped")
    assert rested is not None and rested.state == "ready"
    assert rested.cost_per_hour == standbys.machines.stopped_cost_per_hour(instance.disk_gb)
