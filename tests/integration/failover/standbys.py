"""The CPU standbys' test bed: moto's EC2 beside the instances' table, the strategy's path and agents
over them, and what the tests do with them."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest

from dumont_core.agents.logs import InstanceLogs
from dumont_core.agents.repository import ActionRepository
from dumont_core.agents.service import AgentService
from dumont_core.failover.cpu_failover_steps import CpuFailoverSteps
from dumont_core.failover.cpu_standby import CpuStandbyPath, standby_agent_environment
from dumont_core.instances.models import (
    EventType,
    FailoverStrategy,
    Instance,
    InstanceEvent,
    InterruptionReason,
)
from dumont_core.platform.identity import Principal
from dumont_core.platform.settings import CpuStandbySettings, ProviderSettings
from dumont_core.providers.ec2 import Ec2CpuMachines
from tests.integration.conftest import REGION
from tests.integration.failover.test_failover_service import RecordingPath
from tests.integration.instances import conftest as instances_conftest
from tests.integration.instances.conftest import SSH_KEY, Cloud, Provisioned
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

    def host_offline(self, instance: Instance) -> Instance:
        """The instance interrupted now, its host gone offline."""
        return self.cloud.service.interrupt(
            self.cloud.stored(instance), InterruptionReason.HOST_OFFLINE, "host offline", self.cloud.clock()
        )

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


def assert_documented(events: list[InstanceEvent]) -> None:
    """Every event published matches its JSON Schema in `events/`, but the stand-in checkpoints."""
    for event in (event for event in events if event.type != EventType.SNAPSHOT_COMPLETED):
        detail = json.loads(json.dumps(event.bus_detail()))
        assert validation_problems(detail, schema_for(event.type.value)) == [], detail
