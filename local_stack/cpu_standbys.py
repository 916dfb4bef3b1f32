"""The real agent on every CPU standby the local stack's EC2 (moto) runs for us.

An EC2 machine here is a record in moto, not a computer; this gives each one launched with our user
data what a real one would have: a disk (a directory that outlives a stop and goes with termination,
as an EBS root volume does), and `dumont-agent` reporting to the API with the standby's own token
while the machine runs, as the service its first boot installs would.
"""

from __future__ import annotations

import base64
import logging
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dumont_agent.agent import AgentConfig, run_agent
from dumont_agent.host_metrics import HostMetrics
from dumont_core.failover.cpu_standby import standby_agent_environment
from dumont_core.providers.ec2 import LABEL_TAG
from local_stack.agent_fleet import AgentFleet

logger = logging.getLogger(__name__)


def standby_environment(ec2: Any, machine_id: str) -> dict[str, str] | None:
    """The agent's settings an EC2 standby was launched with, read from its user data as cloud-init
    would; None for a machine that is not one of our standbys."""
    answer = ec2.describe_instance_attribute(InstanceId=machine_id, Attribute="userData")
    encoded = answer.get("UserData", {}).get("Value")
    return standby_agent_environment(base64.b64decode(encoded).decode() if encoded else "")


class NoGpu:
    """The NVIDIA management library of a machine without a GPU: it counts none."""

    def nvmlDeviceGetCount(self) -> int:
        return 0


@dataclass
class _RunningAgent:
    machine_id: str
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


class CpuStandbyAgents(AgentFleet[str, _RunningAgent]):
    """Starts an agent when one of our EC2 machines runs, stops it when the machine stops, and wipes its
    disk when it is terminated."""

    watcher_name = "cpu-standby-agents"

    def __init__(self, ec2: Any) -> None:
        self._ec2 = ec2
        super().__init__("dumont-cpu-machines-")
        self._environments: dict[str, dict[str, str] | None] = {}

    def workspace(self, machine_id: str) -> Path:
        """The machine's workspace directory (`/workspace` on the real one)."""
        return self._root / machine_id / "workspace"

    def running(self) -> list[str]:
        with self._lock:
            return sorted(self._agents)

    def machines(self) -> list[dict[str, Any]]:
        """Every EC2 machine carrying one of our labels that is not terminated: id, state, label."""
        listed = self._ec2.describe_instances(
            Filters=[
                {"Name": "tag-key", "Values": [LABEL_TAG]},
                {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
            ]
        )
        return [
            {
                "id": each["InstanceId"],
                "state": each["State"]["Name"],
                "label": next(
                    (tag["Value"] for tag in each.get("Tags", []) if tag["Key"] == LABEL_TAG), None
                ),
            }
            for reservation in listed["Reservations"]
            for each in reservation["Instances"]
        ]

    def _reconcile(self) -> None:
        states = {machine["id"]: machine["state"] for machine in self.machines()}
        with self._lock:
            self._stopping = [
                running for running in self._stopping if running.thread and running.thread.is_alive()
            ]
            for machine_id in list(self._agents):
                if states.get(machine_id) != "running":
                    stopped = self._agents.pop(machine_id)
                    stopped.stop.set()
                    self._stopping.append(stopped)
            for machine_id in [known for known in self._environments if known not in states]:
                # Terminated: its disk goes with it.
                del self._environments[machine_id]
                shutil.rmtree(self._root / machine_id, ignore_errors=True)
            for machine_id, state in states.items():
                if state != "running" or machine_id in self._agents:
                    continue
                environment = self._environment(machine_id)
                if environment is not None:
                    self._agents[machine_id] = self._launch(machine_id, environment)

    def _environment(self, machine_id: str) -> dict[str, str] | None:
        if machine_id not in self._environments:
            self._environments[machine_id] = standby_environment(self._ec2, machine_id)
        return self._environments[machine_id]

    def _launch(self, machine_id: str, environment: dict[str, str]) -> _RunningAgent:
        workspace = self.workspace(machine_id)
        workspace.mkdir(parents=True, exist_ok=True)
        config = AgentConfig.from_environment(
            {
                **environment,
                "DUMONT_WORKSPACE": str(workspace),
                "DUMONT_AGENT_STATE": str(self._root / machine_id / "agent-state"),
            }
        )
        running = _RunningAgent(machine_id)
        metrics = HostMetrics(workspace, nvml=NoGpu())
        running.thread = threading.Thread(
            target=run_agent, args=(config, running.stop, metrics), name=f"agent-{machine_id}", daemon=True
        )
        running.thread.start()
        logger.info("Agent started on CPU standby %s, workspace %s", machine_id, workspace)
        return running
