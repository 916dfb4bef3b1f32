"""The `cpu_standby` strategy over the real instance service and agents (moto's DynamoDB) and moto's EC2:
keeping the standby, its agent's identity, handing an instance to it, the workflow's steps, and the pass
that terminates the standbys nobody keeps."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from dumont_core.agents.logs import InstanceLogs
from dumont_core.agents.repository import ActionRepository
from dumont_core.agents.service import AgentService
from dumont_core.failover.cpu_failover_steps import CpuFailoverSteps, StandbyLost
from dumont_core.failover.cpu_standby import CpuStandbyPath, standby_agent_environment
from dumont_core.failover.paths import FailoverRecovery
from dumont_core.instances.models import (
    EventType,
    FailoverStrategy,
    Instance,
    InstanceEvent,
    InstanceStatus,
    InterruptionReason,
)
from dumont_core.platform.identity import Principal
from dumont_core.platform.settings import CpuStandbySettings, ProviderSettings
from dumont_core.platform.workflows import Workflow
from dumont_core.providers.cpu_machines import CpuMachineRequest
from dumont_core.providers.ec2 import DEPLOYMENT_TAG, LABEL_TAG, Ec2CpuMachines
from tests.fakes.clock import Clock
from tests.fakes.workflows import step_failure
from tests.integration.conftest import REGION
from tests.integration.failover.test_failover_service import RecordingPath
from tests.integration.instances import conftest as instances_conftest
from tests.integration.instances.conftest import SSH_KEY, Cloud, Provisioned, ref_of
from tests.unit.instances.test_event_documents import schema_for, validation_problems

TEAM = Principal(account_id="acct_00000000000000a1", team_id="team_00000000000000b1")
SNAPSHOT = "snap_00000000000000a1"
NEWER_SNAPSHOT = "snap_00000000000000a2"


@pytest.fixture
def ec2(dynamodb_table: str) -> Any:
    """moto's EC2 (the DynamoDB fixture's mock covers every service)."""
    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def machines(ec2: Any) -> Ec2CpuMachines:
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.0.0/24")["Subnet"]["SubnetId"]
    image_id = ec2.register_image(Name="standby", RootDeviceName="/dev/sda1")["ImageId"]
    settings = CpuStandbySettings.model_validate(
        {"CPU_STANDBY_AMI_ID": image_id, "CPU_STANDBY_SUBNET_ID": subnet_id}
    )
    return Ec2CpuMachines(settings)


@dataclass
class Standbys:
    cloud: Cloud
    path: CpuStandbyPath
    agents: AgentService
    machines: Ec2CpuMachines
    ec2: Any
    fallback: RecordingPath

    def running_with_failover(self) -> Provisioned:
        provisioned = self.cloud.provision(
            failover_enabled=True, failover_strategy=FailoverStrategy.CPU_STANDBY, ssh_key=SSH_KEY
        )
        self.checkpointed(provisioned.instance, SNAPSHOT)
        return provisioned

    def checkpointed(self, instance: Instance, snapshot_id: str) -> None:
        self.cloud.service.snapshot_completed(instance.team_id, instance.instance_id, snapshot_id=snapshot_id)

    def keep_ready(self, instance: Instance) -> Instance:
        self.path.keep_ready(self.cloud.stored(instance))
        return self.cloud.stored(instance)

    def standby_agent(self, instance: Instance) -> Principal:
        machine_id = self.cloud.stored(instance).standby.machine_id  # type: ignore[union-attr]
        user_data = self.ec2.describe_instance_attribute(InstanceId=machine_id, Attribute="userData")
        environment = standby_agent_environment(base64.b64decode(user_data["UserData"]["Value"]).decode())
        assert environment is not None
        principal = self.agents.authenticate(environment["DUMONT_AGENT_TOKEN"])
        assert principal is not None
        return principal

    def synced(self, instance: Instance) -> Instance:
        """Keep the standby until it holds the last checkpoint, its agent restoring what it is asked."""
        kept = self.keep_ready(instance)
        for _ in range(3):
            agent = self.standby_agent(instance)
            for action in self.agents.heartbeat(agent, {}).actions:
                self.agents.report(agent, action["id"], "completed", {}, None)
            kept = self.keep_ready(instance)
        assert kept.standby is not None and kept.standby.state == "ready", kept.standby
        return kept

    def state(self, machine_id: str) -> str:
        return self.machines.get(machine_id).state.value

    def steps(self) -> CpuFailoverSteps:
        settings = CpuStandbySettings()
        return CpuFailoverSteps(
            instances=self.cloud.service,
            provider=self.cloud.provider,
            settings=self.cloud.steps.settings,
            machines=self.machines,
            snapshots=_NoSnapshots(),  # type: ignore[arg-type]
            cpu_settings=settings,
            fallback=self.fallback,
            clock=self.cloud.clock,
        )


class _NoSnapshots:
    def fail_snapshot(self, team_id: str, snapshot_id: str, reason: str) -> None:
        self.failed = snapshot_id


@pytest.fixture
def standbys(cloud: Cloud, machines: Ec2CpuMachines, ec2: Any, monkeypatch: pytest.MonkeyPatch) -> Standbys:
    # Agent tokens carry the team's and the instance's ids, which are hex as the services make them.
    monkeypatch.setattr(instances_conftest, "PRINCIPAL", TEAM)
    agents = AgentService(
        instances=cloud.service,
        actions=ActionRepository(retention=timedelta(days=7)),
        logs=InstanceLogs("/dumont/instances"),
        heartbeat_seconds=60,
        clock=cloud.clock,
    )
    settings = ProviderSettings.model_validate({"PUBLIC_API_URL": "https://api.example.com"})
    path = CpuStandbyPath(
        instances=cloud.service,
        agents=agents,
        machines=machines,
        workflows=cloud.starter,
        settings=settings,
        region=REGION,
        clock=cloud.clock,
    )
    return Standbys(cloud, path, agents, machines, ec2, RecordingPath())


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


def test_a_dead_gpu_is_handed_to_the_ready_standby_through_its_workflow(standbys: Standbys) -> None:
    provisioned = standbys.running_with_failover()
    standbys.synced(provisioned.instance)
    interrupted = standbys.cloud.service.interrupt(
        standbys.cloud.stored(provisioned.instance),
        InterruptionReason.HOST_OFFLINE,
        "host offline",
        standbys.cloud.clock(),
    )
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
    interrupted = standbys.cloud.service.interrupt(
        standbys.cloud.stored(provisioned.instance),
        InterruptionReason.HOST_OFFLINE,
        "host offline",
        standbys.cloud.clock(),
    )
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


def assert_documented(events: list[InstanceEvent]) -> None:
    """Every event published matches its JSON Schema in `events/`, but the stand-in checkpoints."""
    for event in (event for event in events if event.type != EventType.SNAPSHOT_COMPLETED):
        detail = json.loads(json.dumps(event.bus_detail()))
        assert validation_problems(detail, schema_for(event.type.value)) == [], detail
