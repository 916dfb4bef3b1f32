"""Instances: what they are, the rules of their lifecycle, the events they go through, and the
readings their agents report."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import Field

from dumont_core.instances.ssh_keys import SshKey
from dumont_core.platform.events import DomainEvent
from dumont_core.platform.models import DomainModel

# What a chart can show, as reported in heartbeats.
METRIC_FIELDS = ("gpu_utilization", "gpu_memory_used_gb", "cpu_utilization", "ram_used_gb")
DEFAULT_IDLE_TIMEOUT_MINUTES = 15.0
DEFAULT_GPU_THRESHOLD = 5.0
"""GPU utilisation (%) under which a serverless instance counts as idle."""


def reading_value(reading: Mapping[str, Any] | None, name: str) -> float | None:
    """A number an agent reported under `name`; None when it reported none (or not a number)."""
    value = (reading or {}).get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class StaleInstanceState(Exception):
    """The instance was not in any of the expected states when we tried to change it."""


class InstanceStatus(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    REBOOTING = "rebooting"
    DELETING = "deleting"
    DELETED = "deleted"
    FAILED = "failed"
    HIBERNATING = "hibernating"
    """The workspace is being snapshotted; the machine runs until the snapshot is verified."""
    HIBERNATED = "hibernated"
    """The machine is gone and nothing is billed; the workspace is safe in a snapshot."""
    WAKING = "waking"
    """A new machine is being rented and the workspace restored onto it."""
    INTERRUPTED = "interrupted"
    """Its machine died under it (outbid, host gone, unreachable); nothing is billed; the workspace is in
    its last snapshot, from which it can be woken."""


class InterruptionReason(StrEnum):
    """Why a running instance lost its machine (seed 001's `instance.interrupted`)."""

    SPOT_PREEMPTION = "spot_preemption"
    """Outbid or reclaimed: the provider took the interruptible machine back."""
    HOST_OFFLINE = "host_offline"
    """The host went offline or stopped the machine (maintenance, a crash) while we wanted it running."""
    MACHINE_LOST = "machine_lost"
    """The provider no longer lists the machine, or its agent has gone silent while it says running."""
    DRILL = "drill"
    """A failover drill asked for on a healthy instance (`POST /api/v1/failover/trigger/{id}`)."""


class FailoverStrategy(StrEnum):
    WARMPOOL = "warmpool"
    """Keep a paused spare machine ready to take over."""
    CPU_STANDBY = "cpu_standby"
    """Fall back to a CPU machine holding the workspace until a GPU is back."""
    SNAPSHOT = "snapshot"
    """Restore the last snapshot on a new GPU."""


class Standby(DomainModel):
    """A machine kept ready to take over an instance with failover on (`warmpool`: a stopped GPU on
    another host; `cpu_standby`: a CPU machine), held by the instance like its own machine."""

    kind: Literal["gpu", "cpu"]
    provider: str
    """Who rents it: `vastai` for a GPU, `ec2` for a CPU machine."""
    machine_id: str | None = None
    """The provider's id for it; None while it is being rented."""
    state: Literal["renting", "syncing", "ready", "taking_over", "active"] = "renting"
    """`renting` until it exists, `syncing` while a checkpoint is restored onto it, `ready` once it holds
    `synced_snapshot_id`, `taking_over` during a failover, `active` while the instance runs on it."""
    region: str | None = None
    ip_address: str | None = None
    ssh_port: int | None = None
    cost_per_hour: float = 0.0
    """What it costs while it waits (a stopped Vast.ai machine is billed for its disk only)."""
    synced_snapshot_id: str | None = None
    synced_at: datetime | None = None
    since: datetime | None = None
    """When it was rented."""
    agent_token_digest: str | None = None
    """SHA-256 of the token the standby's own agent authenticates with (the instance's token is the
    GPU's); a warm-pool standby's becomes the instance's when it takes over."""
    syncing_snapshot_id: str | None = None
    """The checkpoint being restored onto it, by the action `sync_action_id` of its agent."""
    sync_action_id: str | None = None
    active_since: datetime | None = None
    """When the instance started running on it (`active`)."""
    offer_id: int | None = None
    gpu_name: str | None = None
    gpu_memory_gb: float | None = None
    jupyter_port: int | None = None
    running_cost_per_hour: float | None = None
    """What it costs once started: the instance's price after it takes over."""


RunningOn = Literal["gpu", "cpu_standby", "gpu_standby"]


class PowerAction(StrEnum):
    START = "start"
    STOP = "stop"
    REBOOT = "reboot"


# For each action: the states it may start from, the state it moves the instance to at once,
# and the state it ends in when the provider has done it.
POWER_ACTIONS: dict[PowerAction, tuple[frozenset[InstanceStatus], InstanceStatus, InstanceStatus]] = {
    PowerAction.START: (frozenset({InstanceStatus.STOPPED}), InstanceStatus.STARTING, InstanceStatus.RUNNING),
    PowerAction.STOP: (frozenset({InstanceStatus.RUNNING}), InstanceStatus.STOPPING, InstanceStatus.STOPPED),
    PowerAction.REBOOT: (
        frozenset({InstanceStatus.RUNNING}),
        InstanceStatus.REBOOTING,
        InstanceStatus.RUNNING,
    ),
}
DELETABLE_STATES: frozenset[InstanceStatus] = frozenset(
    set(InstanceStatus) - {InstanceStatus.DELETING, InstanceStatus.DELETED}
)
MACHINE_GONE: dict[str, Any] = {
    "ip_address": None,
    "ssh_port": None,
    "jupyter_port": None,
    "ssh_host": None,
    "jupyter_url": None,
}
"""What an instance keeps of a machine once the machine is gone."""
DEFAULT_CHECKPOINT_MINUTES = 10.0
"""How often an instance with failover on is snapshotted, unless it says otherwise."""
HEARTBEAT_RESET: dict[str, Any] = {"last_heartbeat_at": None}
"""Whatever restarts the machine (start, reboot, wake) forgets the agent's last heartbeat: its silence
counts from its first report on the restarted machine."""
WAKEABLE_STATES: frozenset[InstanceStatus] = frozenset(
    {InstanceStatus.HIBERNATED, InstanceStatus.INTERRUPTED}
)
"""States from which an instance runs again from its last snapshot, on a new machine."""
# States in which a machine is being rented for the instance and may not be recorded on it yet.
RENTING_STATES: frozenset[InstanceStatus] = frozenset({InstanceStatus.STARTING, InstanceStatus.WAKING})
# States in which a machine runs our agent, so it may report in.
AGENT_STATES: frozenset[InstanceStatus] = frozenset(
    {
        InstanceStatus.STARTING,
        InstanceStatus.RUNNING,
        InstanceStatus.REBOOTING,
        InstanceStatus.HIBERNATING,
        InstanceStatus.WAKING,
    }
)


class Instance(DomainModel):
    instance_id: str
    account_id: str
    team_id: str
    name: str | None = None
    gpu_type: str
    num_gpus: int = 1
    requested_region: str | None = None
    image: str
    disk_gb: int
    ssh_key: str | None = None
    """The key given at creation; also the first of `ssh_keys`."""
    ssh_keys: list[SshKey] = Field(default_factory=list)
    """The keys that may log in to its machines (`/api/v1/instances/{id}/ssh-keys`), kept on every new one."""
    ssh_keys_version: int = 0
    """Counts the changes to `ssh_keys`: an agent holding an older list is handed the current one, and one
    handed an older list than it holds leaves it aside."""
    watchers: list[str] = Field(default_factory=list)
    """The live connections watching its metrics (`/ws/instance/{id}/metrics`): kept on the instance so a
    heartbeat finds them in the read it makes anyway."""
    failover_enabled: bool = False
    failover_strategy: FailoverStrategy | None = None
    auto_hibernate: bool = False
    idle_timeout_minutes: float | None = None

    status: InstanceStatus
    status_reason: str | None = None
    created_at: datetime
    updated_at: datetime

    provider: str = "vastai"
    provider_instance_id: str | None = None
    offer_id: int | None = None
    region: str | None = None
    """Where the machine actually runs; the requested region until a host is chosen."""
    gpu_name: str | None = None
    gpu_memory_gb: float | None = None
    ip_address: str | None = None
    ssh_port: int | None = None
    jupyter_port: int | None = None
    ssh_host: str | None = None
    """Where SSH answers when not at `ip_address` (the provider's proxy)."""
    jupyter_url: str | None = None
    """Jupyter as the provider started it, its token included."""
    cost_per_hour: float | None = None
    host_reliability: float | None = None
    """The provider's host reliability, 0..1."""

    running_since: datetime | None = None
    """Start of the current billed interval; None while not billed."""
    billed_seconds: float = 0.0
    """Billed time accumulated before the current interval."""
    closed_cost: float = 0.0
    """What the intervals before the current one cost, each at the price it ran at."""
    stopped_since: datetime | None = None
    """While stopped on a machine it keeps: since when its disk is billed, at `stopped_cost_per_hour`."""
    stopped_cost_per_hour: float | None = None
    standby_billed_since: datetime | None = None
    """Start of the standby's billed interval in progress, at its `cost_per_hour`; None without one."""
    standby_closed_cost: float = 0.0
    """What its standbys cost before that interval: charged on a line of their own."""
    standby_billed_seconds: float = 0.0
    last_failover_at: datetime | None = None
    suspected_at: datetime | None = None
    """When the machine first looked dead (provider or heartbeats); an interruption once confirmed."""
    failing_over_since: datetime | None = None
    """Set while a failover brings the instance back on a new machine."""
    standby: Standby | None = None
    """The machine kept ready to take over, for the strategies that keep one."""

    agent_token_digest: str | None = None
    """SHA-256 of the token the machine's agent authenticates with; the token itself is never kept."""
    last_heartbeat_at: datetime | None = None
    heartbeat_interval_seconds: float | None = None
    """The interval its agent was told in the answer to its last heartbeat (`instances/heartbeats.py`)."""
    latest_metrics: dict[str, Any] | None = None
    """The agent's last reading (GPU, CPU, RAM, disk), as it reported it."""
    idle_gpu_threshold: float | None = None
    """Serverless mode: GPU utilisation (percent) under which the machine counts as idle."""
    serverless_since: datetime | None = None
    """When serverless mode was last turned on: idle time before it does not count."""
    hibernated_at: datetime | None = None
    last_snapshot_id: str | None = None
    last_snapshot_at: datetime | None = None
    """When `last_snapshot_id` completed: what changed since is what a failover would lose."""
    checkpoint_started_at: datetime | None = None
    """When the last checkpoint (a snapshot for failover) was started."""
    checkpoint_interval_minutes: float | None = None
    """With failover on: how often its workspace should be snapshotted (`POST /api/v1/failover/configure`)."""

    def latest_reading(self, name: str) -> float | None:
        return reading_value(self.latest_metrics, name)

    @property
    def on_standby(self) -> bool:
        """Whether the instance runs on its standby machine now (a failover under way)."""
        return self.standby is not None and self.standby.state == "active"

    @property
    def running_on(self) -> RunningOn | None:
        """Which machine the instance runs on now: its GPU, its CPU standby, or none."""
        if self.on_standby:
            return "cpu_standby" if self.standby and self.standby.kind == "cpu" else "gpu_standby"
        return "gpu" if self.status == InstanceStatus.RUNNING else None

    def current_interval_seconds(self, now: datetime) -> float:
        current = (now - self.running_since).total_seconds() if self.running_since else 0.0
        return max(current, 0.0)

    @property
    def savings_per_hour(self) -> float:
        """What hibernating it saves each hour: the price of the machine it gives back."""
        return round(self.cost_per_hour or 0.0, 4)

    def billed_seconds_at(self, now: datetime) -> float:
        return self.billed_seconds + self.current_interval_seconds(now)

    def cost_at(self, now: datetime) -> float:
        """What it has cost until `now`, unrounded, its standbys apart: what the meter charges."""
        running = (self.cost_per_hour or 0.0) * self.current_interval_seconds(now) / 3600
        return self.closed_cost + running + self.stopped_cost_at(now)

    def stopped_cost_at(self, now: datetime) -> float:
        """What the disk of its stopped machine cost since it stopped."""
        if self.stopped_since is None:
            return 0.0
        return (
            (self.stopped_cost_per_hour or 0.0) * max((now - self.stopped_since).total_seconds(), 0.0) / 3600
        )

    @property
    def billed_while_idle(self) -> bool:
        """Whether it is billed for a machine it keeps without running on it (a standby, a stopped one)."""
        return self.stopped_since is not None or self.standby_billed_since is not None

    def billing_stopped_at(self, now: datetime) -> dict[str, Any]:
        """The changes that close the current billed interval at `now` (its cost kept unrounded, so the
        meter charges to the micro-dollar what the intervals add up to)."""
        return {
            "billed_seconds": self.billed_seconds_at(now),
            "closed_cost": self.cost_at(now),
            "running_since": None,
            "stopped_since": None,
        }

    def uptime_seconds_at(self, now: datetime) -> int:
        if self.status != InstanceStatus.RUNNING or self.running_since is None:
            return 0
        return max(int((now - self.running_since).total_seconds()), 0)


class EventType(StrEnum):
    CREATED = "instance.created"
    READY = "instance.ready"
    STARTED = "instance.started"
    STOPPED = "instance.stopped"
    REBOOTED = "instance.rebooted"
    DELETED = "instance.deleted"
    FAILED = "instance.failed"
    ACTION_FAILED = "instance.action_failed"
    HIBERNATED = "instance.hibernated"
    HIBERNATE_FAILED = "instance.hibernate_failed"
    SNAPSHOT_COMPLETED = "snapshot.completed"
    SNAPSHOT_FAILED = "snapshot.failed"
    ORPHAN_DESTROYED = "instance.orphan_destroyed"
    INTERRUPTED = "instance.interrupted"
    FAILOVER_TRIGGERED = "failover.triggered"
    FAILOVER_STARTED = "failover.started"
    FAILOVER_COMPLETED = "failover.completed"
    FAILOVER_FAILED = "failover.failed"


class InstanceEvent(DomainEvent):
    """Something that happened to an instance: kept on its timeline and published on the bus."""

    source: ClassVar[str] = "dumont.instances"

    type: EventType
    instance_id: str
    details: dict[str, Any] = Field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, **self.details}

    @classmethod
    def of(cls, event_type: EventType, instance: Instance, **details: Any) -> InstanceEvent:
        return cls.about(event_type, instance.instance_id, instance.account_id, instance.team_id, **details)

    @classmethod
    def about(
        cls, event_type: EventType, instance_id: str, account_id: str, team_id: str, **details: Any
    ) -> InstanceEvent:
        """An event about an instance known by its ids alone; details that are None are left out."""
        return cls(
            type=event_type,
            instance_id=instance_id,
            account_id=account_id,
            team_id=team_id,
            details={key: value for key, value in details.items() if value is not None},
        )


class InstanceSpec(DomainModel):
    """A validated request for a new instance, in canonical spellings."""

    gpu_type: str
    image: str
    disk_gb: int
    region: str | None = None
    num_gpus: int = 1
    name: str | None = None
    ssh_key: str | None = None
    failover_enabled: bool = False
    failover_strategy: FailoverStrategy | None = None
    auto_hibernate: bool = False


class InstancePage(DomainModel):
    items: list[Instance]
    page: int
    per_page: int
    total: int


class MetricPoint(DomainModel):
    """Readings at one time, or averaged over a bucket of `samples` readings."""

    timestamp: datetime
    values: dict[str, float | None]
    samples: int
