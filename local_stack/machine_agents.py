"""The real instance agent, run for every simulated machine whose first boot would start it.

A machine at the local marketplace is a record, not a computer; this gives each running machine
that was rented with our on-start script what a real one would have: a workspace directory (its
disk, gone when the machine is destroyed), and `dumont-agent` reporting to the API with the
machine's token. Its GPU is simulated: utilisation is whatever the test or demo sets.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from dumont_agent.agent import AgentConfig, run_agent
from dumont_agent.host_metrics import HostMetrics
from local_stack.agent_fleet import AgentFleet
from local_stack.faults import RandomFault
from local_stack.marketplace import LocalMarketplace

logger = logging.getLogger(__name__)

"""How long stopping waits for the agents to finish what they are doing."""
GPU_MEMORY_BYTES = 24 * 1024**3
HEARTBEAT_PATH = "/api/agent/status"


class SimulatedGpu:
    """Enough of the NVIDIA management library (under its own names) for the agent's readings, with a
    settable load."""

    NVML_TEMPERATURE_GPU = 0

    def __init__(self, name: str, utilization: float) -> None:
        self.name = name
        self.utilization = utilization

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        return self.name

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        return SimpleNamespace(gpu=self.utilization, memory=self.utilization)

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        used = int(GPU_MEMORY_BYTES * self.utilization / 100)
        return SimpleNamespace(used=used, total=GPU_MEMORY_BYTES, free=GPU_MEMORY_BYTES - used)

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        return int(35 + self.utilization * 0.4)


class MachineNetwork(httpx.HTTPTransport):
    """The machine's network, which a test can cut during uploads to S3 (presigned PUTs), which a
    network partition at the marketplace cuts altogether, and which loses a fraction of the heartbeats
    when told to (the agent tries a lost one again, as over a real network)."""

    def __init__(self, heartbeat_drops: RandomFault | None = None) -> None:
        super().__init__()
        self.puts_left: int | None = None
        self.partitioned = False
        self.heartbeat_drops = heartbeat_drops or RandomFault()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.let_through(request)
        return super().handle_request(request)

    def let_through(self, request: httpx.Request) -> None:
        """Raise what a real network does to a request it loses; return when the request goes out."""
        if self.partitioned:
            raise httpx.ConnectError("the machine is cut off from the network", request=request)
        if request.url.path == HEARTBEAT_PATH and self.heartbeat_drops.strikes():
            raise httpx.ConnectError("the network lost the heartbeat", request=request)
        if request.method == "PUT" and self.puts_left is not None:
            if self.puts_left <= 0:
                raise httpx.ConnectError("the machine lost its network during the upload", request=request)
            self.puts_left -= 1


@dataclass
class _RunningAgent:
    machine_id: int
    workspace: Path
    gpu: SimulatedGpu
    network: MachineNetwork = field(default_factory=MachineNetwork)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


def agent_environment(onstart: str | None) -> dict[str, str] | None:
    """The variables our on-start script starts the agent with; None if it starts no agent."""
    if not onstart or "DUMONT_AGENT_TOKEN=" not in onstart:
        return None
    for line in onstart.splitlines():
        if "dumont-agent" in line and "DUMONT_AGENT_TOKEN=" in line:
            words = shlex.split(line)
            return dict(
                word.split("=", 1) for word in words if "=" in word and word.split("=", 1)[0].isupper()
            )
    return None


class MachineAgents(AgentFleet[int, _RunningAgent]):
    """Starts an agent when a machine with our on-start script runs; stops it, and wipes the machine's
    disk, when the machine stops running or is destroyed."""

    watcher_name = "machine-agents"

    def __init__(
        self,
        marketplace: LocalMarketplace,
        *,
        gpu_utilization: float = 0.0,
        heartbeat_drop_rate: float = 0.0,
        fault_seed: int = 0,
    ) -> None:
        self._marketplace = marketplace
        self._heartbeat_drops = RandomFault(heartbeat_drop_rate, fault_seed)
        super().__init__("dumont-machines-")
        self._default_utilization = gpu_utilization
        self._killed: set[int] = set()

    def workspace(self, machine_id: int) -> Path:
        """The machine's workspace directory (what `/workspace` is on a real machine)."""
        return self._root / str(machine_id) / "workspace"

    def machine_log(self, machine_id: int) -> Path:
        """The machine's log file, which its agent ships (what `/var/log/…` is on a real machine)."""
        return self._root / str(machine_id) / "machine.log"

    def authorized_keys(self, machine_id: int) -> Path:
        """The machine's `~/.ssh/authorized_keys`, which its agent keeps."""
        return self._root / str(machine_id) / "ssh" / "authorized_keys"

    def set_gpu_utilization(self, machine_id: int | None, utilization: float) -> None:
        """The simulated GPU load of one machine, or, with None, of every machine from now on."""
        with self._lock:
            if machine_id is None:
                self._default_utilization = utilization
                targets = list(self._agents.values())
            else:
                targets = [self._agents[machine_id]] if machine_id in self._agents else []
            for running in targets:
                running.gpu.utilization = utilization

    def cut_uploads_after(self, machine_id: int, puts: int | None) -> None:
        """Let the machine upload `puts` more objects to S3, then lose its network (None: never)."""
        with self._lock:
            self._agents[machine_id].network.puts_left = puts

    def drop_heartbeats(self, fraction: float, seed: int | None = None) -> None:
        """Lose this fraction of the agents' heartbeat requests on the machines' network, at random (the
        same draws every run for one `seed`); each agent tries a lost one again, as it would."""
        self._heartbeat_drops.set(fraction, seed)

    @property
    def heartbeat_drop_rate(self) -> float:
        return self._heartbeat_drops.fraction

    def kill_agent(self, machine_id: int) -> None:
        """Stop the machine's agent as if it had crashed; it is not started again while the machine runs."""
        with self._lock:
            running = self._agents[machine_id]
            running.stop.set()
            self._killed.add(machine_id)

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._agents)

    def _reconcile(self) -> None:
        machines = {machine["id"]: machine for machine in self._marketplace.machines()}
        partitioned = self._marketplace.partitioned_machines()
        with self._lock:
            for machine_id, running in self._agents.items():
                running.network.partitioned = machine_id in partitioned
            self._stopping = [
                running for running in self._stopping if running.thread and running.thread.is_alive()
            ]
            for machine_id in list(self._agents):
                machine = machines.get(machine_id)
                if machine_id in self._killed and machine is not None:
                    continue
                if machine is None or machine["actual_status"] != "running":
                    stopped = self._agents.pop(machine_id)
                    stopped.stop.set()
                    self._stopping.append(stopped)
                if machine is None:
                    # Destroyed: its disk goes with it.
                    shutil.rmtree(self._root / str(machine_id), ignore_errors=True)
            for machine_id, machine in machines.items():
                if (
                    machine_id in self._agents
                    or machine_id in self._killed
                    or machine["actual_status"] != "running"
                ):
                    continue
                environment = agent_environment(machine.get("onstart"))
                if environment is not None:
                    self._agents[machine_id] = self._launch(machine_id, str(machine["gpu_name"]), environment)

    def _launch(self, machine_id: int, gpu_name: str, environment: dict[str, str]) -> _RunningAgent:
        workspace = self.workspace(machine_id)
        workspace.mkdir(parents=True, exist_ok=True)
        machine_log = self.machine_log(machine_id)
        with machine_log.open("a") as log:
            log.write(f"machine {machine_id} booted with a {gpu_name}\nstarting dumont-agent\n")
        config = AgentConfig.from_environment(
            {
                **environment,
                "DUMONT_WORKSPACE": str(workspace),
                "DUMONT_AGENT_STATE": str(self._root / str(machine_id) / "agent-state"),
                "DUMONT_LOG_FILES": str(machine_log),
                "DUMONT_AUTHORIZED_KEYS": str(self.authorized_keys(machine_id)),
            }
        )
        running = _RunningAgent(
            machine_id,
            workspace,
            SimulatedGpu(gpu_name, self._default_utilization),
            MachineNetwork(self._heartbeat_drops),
        )
        metrics = HostMetrics(workspace, nvml=running.gpu)
        running.thread = threading.Thread(
            target=run_agent,
            args=(config, running.stop, metrics, running.network),
            name=f"agent-{machine_id}",
            daemon=True,
        )
        running.thread.start()
        logger.info("Agent started on machine %s, workspace %s", machine_id, workspace)
        return running
