"""Serverless mode: an instance whose GPU stays idle for its whole window hibernates on its own.

Idle means every heartbeat of the window reported GPU utilisation under the threshold, and the
heartbeats cover the window without gaps: a machine that stops reporting is never taken for idle.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from dumont_core.data.agents import AgentRepository, MetricPoint
from dumont_core.data.instances import InstanceRepository, StaleInstanceState
from dumont_core.data.serverless import ServerlessRepository
from dumont_core.errors import InvalidState
from dumont_core.models import DELETABLE_STATES, Instance, InstanceStatus, Principal, utc_now
from dumont_core.services.instances import DEFAULT_GPU_THRESHOLD, DEFAULT_IDLE_TIMEOUT_MINUTES, team_instance
from dumont_core.services.snapshots import SnapshotService

logger = Logger(child=True)

DEFAULT_IDLE_MINUTES = float(DEFAULT_IDLE_TIMEOUT_MINUTES)
# A gap longer than this many heartbeat intervals means the agent was not reporting.
MAX_GAP_INTERVALS = 2.5


@dataclass(frozen=True)
class ServerlessStatus:
    instance_id: str
    enabled: bool
    idle_timeout_minutes: float | None
    gpu_threshold: float | None
    state: str | None
    """active, idle, hibernating, hibernated or waking; None while serverless mode is off."""
    gpu_utilization: float | None
    last_heartbeat: datetime | None


@dataclass(frozen=True)
class HibernationRecord:
    instance_id: str
    timestamp: datetime
    reason: str
    savings_per_hour: float
    woke_at: datetime | None
    saved: float
    """What hibernation saved so far: the hourly price times the hours hibernated."""


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


def is_idle(
    points: list[MetricPoint], window_start: datetime, now: datetime, threshold: float, heartbeat: float
) -> bool:
    """Whether heartbeats cover [window_start, now] without gaps and all report the GPU under threshold."""
    if not points:
        return False
    max_gap = timedelta(seconds=heartbeat * MAX_GAP_INTERVALS)
    times = [point.timestamp for point in points]
    if times[0] - window_start > max_gap or now - times[-1] > max_gap:
        return False
    if any(later - earlier > max_gap for earlier, later in itertools.pairwise(times)):
        return False
    readings = [point.values.get("gpu_utilization") for point in points]
    return all(reading is not None and reading < threshold for reading in readings)


class ServerlessService:
    def __init__(
        self,
        instances: InstanceRepository,
        agents: AgentRepository,
        watches: ServerlessRepository,
        snapshots: SnapshotService,
        heartbeat_seconds: int,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._instances = instances
        self._agents = agents
        self._watches = watches
        self._snapshots = snapshots
        self._heartbeat_seconds = heartbeat_seconds
        self._clock = clock

    def enable(
        self, principal: Principal, instance_id: str, idle_timeout_minutes: float, gpu_threshold: float
    ) -> ServerlessStatus:
        instance = team_instance(self._instances, principal, instance_id)
        updated = self._change(
            instance,
            "enable serverless mode on",
            auto_hibernate=True,
            idle_timeout_minutes=idle_timeout_minutes,
            idle_gpu_threshold=gpu_threshold,
        )
        self._watches.watch(instance.team_id, instance.instance_id)
        return serverless_status(updated)

    def disable(self, principal: Principal, instance_id: str) -> ServerlessStatus:
        instance = team_instance(self._instances, principal, instance_id)
        updated = self._change(instance, "disable serverless mode on", auto_hibernate=False)
        self._watches.unwatch(instance.team_id, instance.instance_id)
        return serverless_status(updated)

    def status(self, principal: Principal, instance_id: str) -> ServerlessStatus:
        return serverless_status(team_instance(self._instances, principal, instance_id))

    def check_idle(self) -> list[str]:
        """Hibernate every watched instance idle for its whole window; the ids of those hibernated."""
        hibernated = []
        for watched in self._watches.watched():
            instance = self._instances.get(watched.team_id, watched.instance_id)
            if instance is None or instance.status not in DELETABLE_STATES or not instance.auto_hibernate:
                self._watches.unwatch(watched.team_id, watched.instance_id)
                continue
            if instance.status != InstanceStatus.RUNNING:
                continue
            try:
                if self._hibernate_if_idle(instance):
                    hibernated.append(instance.instance_id)
            except Exception:
                # One instance's trouble must not keep the others from being checked.
                logger.exception("Idle check failed", extra={"instance_id": instance.instance_id})
        return hibernated

    def hibernations(self, principal: Principal, days: int) -> list[HibernationRecord]:
        now = self._clock()
        records = []
        for item in self._watches.hibernations(principal.team_id, now - timedelta(days=days)):
            until = item.woke_at or now
            hours = max((until - item.hibernated_at).total_seconds(), 0) / 3600
            records.append(
                HibernationRecord(
                    instance_id=item.instance_id,
                    timestamp=item.hibernated_at,
                    reason=item.reason,
                    savings_per_hour=float(item.savings_per_hour),
                    woke_at=item.woke_at,
                    saved=round(float(item.savings_per_hour) * hours, 4),
                )
            )
        return sorted(records, key=lambda record: record.timestamp, reverse=True)

    def _hibernate_if_idle(self, instance: Instance) -> bool:
        now = self._clock()
        minutes = instance.idle_timeout_minutes or DEFAULT_IDLE_MINUTES
        threshold = gpu_threshold_of(instance)
        window_start = now - timedelta(minutes=minutes)
        if instance.running_since is None or instance.running_since > window_start:
            return False
        points = self._agents.samples(instance.instance_id, window_start, now)
        if not is_idle(points, window_start, now, threshold, self._heartbeat_seconds):
            return False
        reason = f"Low GPU utilization (<{threshold:g}%) for {_window_text(minutes)}"
        with contextlib.suppress(InvalidState):
            self._snapshots.hibernate_instance(instance, reason)
            logger.info("Hibernating an idle instance", extra={"instance_id": instance.instance_id})
            return True
        return False

    def _change(self, instance: Instance, action: str, **changes: object) -> Instance:
        allowed = sorted(status.value for status in DELETABLE_STATES)
        if instance.status not in DELETABLE_STATES:
            raise InvalidState(instance.instance_id, action, instance.status.value, allowed)
        try:
            return self._instances.transition(
                instance, expected=DELETABLE_STATES, changes={**changes, "updated_at": self._clock()}
            )
        except StaleInstanceState:
            raise InvalidState(instance.instance_id, action, "deleted", allowed) from None


def _window_text(minutes: float) -> str:
    if minutes >= 1 and float(minutes).is_integer():
        return f"{int(minutes)} minutes"
    return f"{round(minutes * 60)} seconds"
