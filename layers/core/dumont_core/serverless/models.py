"""Serverless mode: an instance's idle settings as its owner sees them, and the record of every
hibernation and what it saved."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from dumont_core.instances.models import DEFAULT_GPU_THRESHOLD, Instance, InstanceStatus
from dumont_core.platform.models import DomainModel

# A gap longer than this many heartbeat intervals means the agent was not reporting.
MAX_GAP_INTERVALS = 2.5


class ServerlessStatus(DomainModel):
    instance_id: str
    enabled: bool
    idle_timeout_minutes: float | None
    gpu_threshold: float | None = Field(description="GPU utilisation (%) under which the machine is idle")
    state: str | None = Field(
        description="active, idle, hibernating, hibernated or waking; null while serverless mode is off"
    )
    gpu_utilization: float | None
    last_heartbeat: datetime | None


class Hibernation(DomainModel):
    """One hibernation of an instance, as recorded when its machine was given back."""

    team_id: str
    instance_id: str
    hibernated_at: datetime
    woke_at: datetime | None = None
    deleted_at: datetime | None = None
    """When the instance was deleted while hibernated: the hibernation ended there, without a wake."""
    reason: str
    savings_per_hour: float
    snapshot_id: str


IDLE_REASON = "Low GPU utilization"
"""How the reason of a hibernation serverless mode made for idleness begins: an automatic one."""


class HibernationRecord(DomainModel):
    instance_id: str
    timestamp: datetime
    reason: str
    savings_per_hour: float
    woke_at: datetime | None
    deleted_at: datetime | None = None
    """When the instance was deleted still hibernated: nothing was saved after it."""
    automatic: bool = Field(
        default=False,
        description="Whether serverless mode hibernated it for idleness (not a person, nor credit)",
    )
    saved: float = Field(description="Saved so far: the hourly price times the hours it stayed hibernated")


class WatchedInstance(DomainModel):
    team_id: str
    instance_id: str


def gpu_threshold_of(instance: Instance) -> float:
    return instance.idle_gpu_threshold if instance.idle_gpu_threshold is not None else DEFAULT_GPU_THRESHOLD


def serverless_status(instance: Instance) -> ServerlessStatus:
    """Serverless mode as the instance's record and its agent's last reading show it."""
    enabled = instance.auto_hibernate
    reading = instance.latest_reading("gpu_utilization")
    state: str | None = None
    if enabled and instance.status == InstanceStatus.RUNNING:
        state = "idle" if reading is not None and reading < gpu_threshold_of(instance) else "active"
    elif enabled:
        state = instance.status.value
    return ServerlessStatus(
        instance_id=instance.instance_id,
        enabled=enabled,
        idle_timeout_minutes=instance.idle_timeout_minutes if enabled else None,
        gpu_threshold=gpu_threshold_of(instance) if enabled else None,
        state=state,
        gpu_utilization=reading,
        last_heartbeat=instance.last_heartbeat_at,
    )
