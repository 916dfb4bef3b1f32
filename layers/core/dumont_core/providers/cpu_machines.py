"""CPU machines we rent by the second from a cloud (EC2): what the `cpu_standby` failover strategy keeps
ready to take an instance over while a new GPU is rented.

The port the failover domain speaks to; `providers.ec2` is its adapter. Machines are tagged with the
label of the instance they serve and with the deployment's prefix, so a pass over the deployment's
machines by tag finds every one of them, and nothing else.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from dumont_core.platform.models import DomainModel


class CpuMachineState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    GONE = "gone"
    """Terminated, terminating, or no longer known."""


ALIVE_STATES = frozenset({CpuMachineState.PENDING, CpuMachineState.RUNNING})
"""Billed as running: the machine is up or coming up."""


class CpuMachineRequest(DomainModel):
    label: str
    """`{prefix}:{team_id}:{instance_id}`, as on the GPU machines."""
    deployment: str
    """The deployment's label prefix: what the pass over our machines filters on."""
    user_data: str
    """The script its first boot runs (the agent, the user's SSH key)."""
    disk_gb: int
    """Its disk, which holds the instance's workspace."""


class CpuMachine(DomainModel):
    machine_id: str
    state: CpuMachineState
    label: str | None = None
    ip_address: str | None = None
    launched_at: datetime | None = None


class CpuMachineError(Exception):
    """The cloud refused or could not carry out what we asked of a CPU machine."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CpuMachines(Protocol):
    """Where the CPU machines run, and what one costs."""

    @property
    def cost_per_hour(self) -> float:
        """What a machine costs an hour while it runs."""
        ...

    def stopped_cost_per_hour(self, disk_gb: int) -> float:
        """What a machine with a disk of `disk_gb` costs an hour while stopped (its disk)."""
        ...

    def launch(self, request: CpuMachineRequest) -> CpuMachine: ...

    def get(self, machine_id: str) -> CpuMachine:
        """The machine as it is now; its state is `gone` once it no longer exists."""
        ...

    def start(self, machine_id: str) -> None: ...

    def stop(self, machine_id: str) -> None: ...

    def terminate(self, machine_id: str) -> None:
        """Give the machine back for good; nothing when it is already gone."""
        ...

    def of_deployment(self, deployment: str) -> list[CpuMachine]:
        """Every machine of the deployment that is not gone (one filtered listing, never a scan of
        our records)."""
        ...
