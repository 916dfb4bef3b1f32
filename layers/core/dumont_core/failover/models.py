"""What the failover routes answer: an instance's setup, what a failover would lose, and its history."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from dumont_core.instances.models import (
    DEFAULT_CHECKPOINT_MINUTES,
    EventType,
    FailoverStrategy,
    Instance,
    InstanceEvent,
    InstanceStatus,
    RunningOn,
    Standby,
)
from dumont_core.platform.models import DomainModel

__all__ = [
    "DEFAULT_CHECKPOINT_MINUTES",
    "FailoverRecord",
    "FailoverStatus",
    "StandbyView",
    "history_of",
    "status_of",
]

Outcome = Literal["in_progress", "completed", "failed"]


class FailoverRecord(DomainModel):
    """One failover, from its start to its end."""

    started_at: datetime
    reason: str | None
    """Why the machine was lost (`spot_preemption`, `host_offline`, `machine_lost`, `drill`)."""
    strategy: str | None
    snapshot_id: str | None
    outcome: Outcome
    ended_at: datetime | None = None
    detected_after_seconds: float | None = None
    """From the machine's death (its last sign of life) to the interruption."""
    recovered_after_seconds: float | None = None
    """From the start of the failover to the instance running again."""
    data_window_seconds: float | None = None
    """From the snapshot it came back from to the machine's death: the work lost."""
    failure: str | None = None


class StandbyView(DomainModel):
    """The standby as its owner sees it: what, where, in what state, and what it costs while it waits
    (never its agent's credentials)."""

    kind: str
    provider: str
    machine_id: str | None
    state: str
    region: str | None
    ip_address: str | None
    ssh_port: int | None
    gpu_name: str | None
    cost_per_hour: float
    """What it costs while it waits: a stopped GPU is billed for its disk alone."""
    running_cost_per_hour: float | None
    """What it will cost once it takes over."""
    synced_snapshot_id: str | None
    synced_at: datetime | None
    since: datetime | None

    @classmethod
    def of(cls, standby: Standby | None) -> StandbyView | None:
        return (
            None if standby is None else cls.model_validate(standby.model_dump(include=set(cls.model_fields)))
        )


class FailoverStatus(DomainModel):
    instance_id: str
    enabled: bool
    strategy: FailoverStrategy | None
    checkpoint_interval_minutes: float | None
    status: str
    """The instance's status now."""
    last_checkpoint_id: str | None
    last_checkpoint_at: datetime | None
    data_at_risk_seconds: float | None
    """How long ago the last completed snapshot was: what a failover now would lose; None without one."""
    data_at_risk_bytes: int | None
    """Bytes of workspace files the last snapshot does not hold as they are now, as the agent last
    measured them; None until it has."""
    last_failover: datetime | None
    running_on: RunningOn | None = None
    """The machine the instance runs on now: `gpu`, or its standby during a failover (`cpu_standby`)."""
    standby: StandbyView | None
    """The machine kept ready to take over (`warmpool`, `cpu_standby`), what it costs and where it is."""
    history: list[FailoverRecord]


def history_of(events: list[InstanceEvent]) -> list[FailoverRecord]:
    """The instance's failovers, oldest first, read from its timeline."""
    records: list[FailoverRecord] = []
    interruption: dict[str, Any] = {}
    for event in sorted(events, key=lambda each: each.timestamp):
        details = event.details
        if event.type == EventType.INTERRUPTED:
            interruption = details
        elif event.type == EventType.FAILOVER_STARTED:
            records.append(
                FailoverRecord(
                    started_at=event.timestamp,
                    reason=interruption.get("reason"),
                    strategy=details.get("strategy"),
                    snapshot_id=details.get("snapshot_id"),
                    outcome="in_progress",
                    detected_after_seconds=interruption.get("detected_after_seconds"),
                    data_window_seconds=interruption.get("data_window_seconds"),
                )
            )
        elif event.type in (EventType.FAILOVER_COMPLETED, EventType.FAILOVER_FAILED) and records:
            completed = event.type == EventType.FAILOVER_COMPLETED
            records[-1] = records[-1].model_copy(
                update={
                    "outcome": "completed" if completed else "failed",
                    "ended_at": event.timestamp,
                    "recovered_after_seconds": details.get("recovered_after_seconds"),
                    "failure": None if completed else details.get("reason"),
                }
            )
    return records


def unsaved_bytes(instance: Instance) -> int | None:
    """What the agent on the instance's machine last said its last snapshot does not hold."""
    if instance.status != InstanceStatus.RUNNING:
        return None
    unsaved = instance.latest_reading("unsaved_bytes")
    return int(unsaved) if unsaved is not None else None


def status_of(instance: Instance, events: list[InstanceEvent], now: datetime) -> FailoverStatus:
    at = instance.last_snapshot_at
    return FailoverStatus(
        instance_id=instance.instance_id,
        enabled=instance.failover_enabled,
        strategy=instance.failover_strategy,
        checkpoint_interval_minutes=instance.checkpoint_interval_minutes,
        status=instance.status.value,
        last_checkpoint_id=instance.last_snapshot_id,
        last_checkpoint_at=at,
        data_at_risk_seconds=round((now - at).total_seconds(), 1) if at else None,
        data_at_risk_bytes=unsaved_bytes(instance),
        last_failover=instance.last_failover_at,
        running_on=instance.running_on,
        standby=StandbyView.of(instance.standby),
        history=history_of(events),
    )
