"""The CPU standbys of the failover bench: the `cpu_standby` strategy's path and workflow steps over
moto's EC2, its machines starting on the simulated clock, and on each machine that runs the real agent
code, started from what its first boot's user data installs (the standby's own token), over the bench's
machine network, as the local stack's `CpuStandbyAgents` does on the wall clock.

moto runs a machine the moment it is started; a stopped EC2 machine takes `Timings.cpu_boot_seconds` to
start and run its agent (decision 45), so each start is seen as `pending` until that time has passed.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from benchmarks.failover_agents import MachineAgent
from benchmarks.failover_cpu_workflow import cpu_failover
from benchmarks.failover_timeline import SimulatedTime
from dumont_core.failover.cpu_failover_steps import CpuFailoverSteps
from dumont_core.failover.cpu_standby import CpuStandbyPath
from dumont_core.instances.agent_tokens import parse_agent_token
from dumont_core.platform.settings import CpuStandbySettings
from dumont_core.platform.workflows import Workflow
from dumont_core.providers.cpu_machines import CpuMachine, CpuMachineRequest, CpuMachineState
from dumont_core.providers.ec2 import Ec2CpuMachines
from local_stack.cpu_standbys import NoGpu, standby_environment

if TYPE_CHECKING:
    from benchmarks.failover_world import FailoverWorld


class StartingMachines:
    """EC2's CPU machines (moto), each `pending` for a start's time after it is launched or started."""

    def __init__(
        self, ec2: Ec2CpuMachines, time: SimulatedTime, start_seconds: tuple[float, float], seed: int
    ) -> None:
        self._ec2 = ec2
        self._time = time
        self._start_seconds = start_seconds
        self._rng = random.Random(seed)
        self._up_at: dict[str, float] = {}
        """Machine id -> the simulated time it runs from, once started."""
        self._asked = True
        """Whether a machine was launched, started, stopped or terminated since the watch last looked."""
        self._looked_at = -1.0
        """When the watch last read EC2."""

    @property
    def cost_per_hour(self) -> float:
        return self._ec2.cost_per_hour

    def stopped_cost_per_hour(self, disk_gb: int) -> float:
        return self._ec2.stopped_cost_per_hour(disk_gb)

    def launch(self, request: CpuMachineRequest) -> CpuMachine:
        self._asked = True
        machine = self._ec2.launch(request)
        self._starting(machine.machine_id)
        return self._as_now(machine)

    def get(self, machine_id: str) -> CpuMachine:
        return self._as_now(self._ec2.get(machine_id))

    def start(self, machine_id: str) -> None:
        self._asked = True
        stopped = self._ec2.get(machine_id).state == CpuMachineState.STOPPED
        self._ec2.start(machine_id)
        if stopped:
            self._starting(machine_id)

    def stop(self, machine_id: str) -> None:
        self._asked = True
        self._ec2.stop(machine_id)

    def terminate(self, machine_id: str) -> None:
        self._asked = True
        self._ec2.terminate(machine_id)
        self._up_at.pop(machine_id, None)

    def of_deployment(self, deployment: str) -> list[CpuMachine]:
        return [self._as_now(machine) for machine in self._ec2.of_deployment(deployment)]

    def changed_since_looked(self) -> bool:
        """Whether a machine may look different than when the watch last looked: asked to change, or come
        up since. EC2 is read only then: each read is a moto call, and the watch runs every second."""
        now = self._time.elapsed
        came_up = any(self._looked_at < up_at <= now for up_at in self._up_at.values())
        return self._asked or came_up

    def looking(self) -> None:
        self._asked, self._looked_at = False, self._time.elapsed

    def _starting(self, machine_id: str) -> None:
        self._up_at[machine_id] = self._time.elapsed + self._rng.uniform(*self._start_seconds)

    def _as_now(self, machine: CpuMachine) -> CpuMachine:
        starting = self._up_at.get(machine.machine_id, 0.0) > self._time.elapsed
        if machine.state == CpuMachineState.RUNNING and starting:
            return machine.model_copy(update={"state": CpuMachineState.PENDING})
        return machine


def _standby_network(ec2: Any) -> CpuStandbySettings:
    """An image, a subnet and a security group of moto's EC2, as an operator gives them in AWS."""
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.0.0/24")["Subnet"]["SubnetId"]
    group_id = ec2.create_security_group(
        GroupName="dumont-cpu-standby", Description="SSH to the CPU standbys", VpcId=vpc_id
    )["GroupId"]
    image_id = ec2.register_image(Name="dumont-cpu-standby", RootDeviceName="/dev/sda1")["ImageId"]
    return CpuStandbySettings.model_validate(
        {
            "CPU_STANDBY_AMI_ID": image_id,
            "CPU_STANDBY_SUBNET_ID": subnet_id,
            "CPU_STANDBY_SECURITY_GROUP_ID": group_id,
        }
    )


class CpuStandbys:
    """The strategy's path and steps over the EC2 machines, and the agents on those that run. Made once
    moto runs and the world's services are composed; `watch` runs every machine-watch interval."""

    def __init__(self, world: FailoverWorld) -> None:
        self._world = world
        self._ec2 = boto3.client("ec2")
        settings = _standby_network(self._ec2)
        self.machines = StartingMachines(
            Ec2CpuMachines(settings), world.time, world.timings.cpu_boot_seconds, world.seed
        )
        self.path = CpuStandbyPath(
            instances=world.instances,
            agents=world.agent_service,
            machines=self.machines,
            workflows=world.workflows,
            settings=world.settings,
            region="us-east-1",
            clock=world.time,
        )
        self.steps = CpuFailoverSteps(
            instances=world.instances,
            provider=world.provider,
            settings=world.settings,
            machines=self.machines,
            snapshots=world.snapshots,
            cpu_settings=settings,
            fallback=world.snapshots,
            clock=world.time,
        )
        world.workflows.register(Workflow.CPU_FAILOVER, lambda ref, _: cpu_failover(world.workflows, ref))
        self.agents: dict[str, MachineAgent] = {}
        """Machine id -> the agent running on it now."""
        self._environments: dict[str, dict[str, str] | None] = {}
        """Machine id -> what its user data starts the agent with (None: no agent), for those not
        terminated: their disks."""

    def watch(self) -> None:
        """An agent starts on each machine that runs, stops with it; a terminated machine's disk goes."""
        world = self._world
        if not self.machines.changed_since_looked():
            return
        self.machines.looking()
        machines = {
            machine.machine_id: machine
            for machine in self.machines.of_deployment(world.settings.machine_label_prefix)
        }
        for machine_id in list(self.agents):
            machine = machines.get(machine_id)
            if machine is None or machine.state != CpuMachineState.RUNNING:
                self.agents.pop(machine_id).close()
        for machine_id in [known for known in self._environments if known not in machines]:
            del self._environments[machine_id]
            shutil.rmtree(self._disk(machine_id), ignore_errors=True)
        for machine_id, machine in machines.items():
            if machine.state != CpuMachineState.RUNNING or machine_id in self.agents:
                continue
            token = (self._environment(machine_id) or {}).get("DUMONT_AGENT_TOKEN", "")
            parts = parse_agent_token(token)
            if parts is None:
                continue
            agent = MachineAgent(
                world,
                machine_id,
                parts.team_id,
                parts.instance_id,
                self._disk(machine_id),
                token=token,
                nvml=NoGpu(),
            )
            self.agents[machine_id] = agent
            world.timeline.repeat(agent.beat)

    def kept(self) -> set[str]:
        """The EC2 machines not terminated: what AWS bills us for."""
        return {
            machine.machine_id
            for machine in self.machines.of_deployment(self._world.settings.machine_label_prefix)
        }

    def close(self) -> None:
        for agent in self.agents.values():
            agent.close()

    def _disk(self, machine_id: str) -> Path:
        """Its EBS disk: it outlives a stop and goes with termination."""
        return self._world.root / f"ec2-{machine_id}"

    def _environment(self, machine_id: str) -> dict[str, str] | None:
        if machine_id not in self._environments:
            self._environments[machine_id] = standby_environment(self._ec2, machine_id)
        return self._environments[machine_id]
