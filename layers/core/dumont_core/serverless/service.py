"""Serverless mode: an instance whose GPU stays idle for its whole window hibernates on its own.

Idle means every heartbeat of the window reported GPU utilisation under the threshold, and the
heartbeats cover the window without gaps: a machine that stops reporting is never taken for idle.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from dumont_core.instances.models import (
    DEFAULT_IDLE_TIMEOUT_MINUTES,
    DELETABLE_STATES,
    Instance,
    InstanceStatus,
    MetricPoint,
    StaleInstanceState,
)
from dumont_core.instances.service import InstanceService
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import InvalidState
from dumont_core.platform.identity import Principal
from dumont_core.serverless.models import (
    IDLE_REASON,
    MAX_GAP_INTERVALS,
    HibernationRecord,
    ServerlessStatus,
    gpu_threshold_of,
    serverless_status,
)
from dumont_core.serverless.repository import ServerlessRepository
from dumont_core.snapshots.service import SnapshotService

logger = Logger(child=True)


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


@dataclass(frozen=True, kw_only=True)
class ServerlessService:
    instances: InstanceService
    snapshots: SnapshotService
    repository: ServerlessRepository
    heartbeat_seconds: int
    clock: Clock = utc_now

    def enable(
        self, principal: Principal, instance_id: str, idle_timeout_minutes: float, gpu_threshold: float
    ) -> ServerlessStatus:
        instance = self.instances.get(principal, instance_id)
        updated = self._change(
            instance,
            "enable serverless mode on",
            auto_hibernate=True,
            idle_timeout_minutes=idle_timeout_minutes,
            idle_gpu_threshold=gpu_threshold,
            serverless_since=self.clock(),
        )
        self.repository.watch(instance.team_id, instance.instance_id)
        return serverless_status(updated)

    def disable(self, principal: Principal, instance_id: str) -> ServerlessStatus:
        instance = self.instances.get(principal, instance_id)
        updated = self._change(instance, "disable serverless mode on", auto_hibernate=False)
        self.repository.unwatch(instance.team_id, instance.instance_id)
        return serverless_status(updated)

    def status(self, principal: Principal, instance_id: str) -> ServerlessStatus:
        return serverless_status(self.instances.get(principal, instance_id))

    def pause(self, principal: Principal, instance_id: str) -> ServerlessStatus:
        """Hibernate now; answered from the instance as hibernating left it, with no second read."""
        instance, _ = self.snapshots.hibernate(principal, instance_id, "paused")
        return serverless_status(instance)

    def resume(self, principal: Principal, instance_id: str) -> ServerlessStatus:
        return serverless_status(self.snapshots.wake(principal, instance_id, action="resume"))

    def check_idle(self) -> list[str]:
        """Hibernate every watched instance idle for its whole window; the ids of those hibernated."""
        hibernated = []
        for watched in self.repository.watched():
            instance = self.instances.find(watched.team_id, watched.instance_id)
            if instance is None or instance.status not in DELETABLE_STATES or not instance.auto_hibernate:
                self.repository.unwatch(watched.team_id, watched.instance_id)
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
        now = self.clock()
        records = []
        for hibernation in self.repository.hibernations(principal.team_id, now - timedelta(days=days)):
            until = hibernation.woke_at or hibernation.deleted_at or now
            hours = max((until - hibernation.hibernated_at).total_seconds(), 0) / 3600
            records.append(
                HibernationRecord(
                    instance_id=hibernation.instance_id,
                    timestamp=hibernation.hibernated_at,
                    reason=hibernation.reason,
                    savings_per_hour=hibernation.savings_per_hour,
                    woke_at=hibernation.woke_at,
                    deleted_at=hibernation.deleted_at,
                    automatic=hibernation.reason.startswith(IDLE_REASON),
                    saved=round(hibernation.savings_per_hour * hours, 4),
                )
            )
        return sorted(records, key=lambda record: record.timestamp, reverse=True)

    def _hibernate_if_idle(self, instance: Instance) -> bool:
        now = self.clock()
        minutes = instance.idle_timeout_minutes or DEFAULT_IDLE_TIMEOUT_MINUTES
        threshold = gpu_threshold_of(instance)
        window_start = now - timedelta(minutes=minutes)
        if instance.running_since is None or instance.running_since > window_start:
            return False
        if instance.serverless_since is not None and instance.serverless_since > window_start:
            return False  # the window counts from when serverless mode was turned on
        points = self.instances.metric_samples(instance.instance_id, window_start, now)
        if not is_idle(points, window_start, now, threshold, self.heartbeat_seconds):
            return False
        reason = f"{IDLE_REASON} (<{threshold:g}%) for {_window_text(minutes)}"
        with contextlib.suppress(InvalidState):
            self.snapshots.hibernate_instance(instance, reason)
            logger.info("Hibernating an idle instance", extra={"instance_id": instance.instance_id})
            return True
        return False

    def _change(self, instance: Instance, action: str, **changes: object) -> Instance:
        allowed = sorted(status.value for status in DELETABLE_STATES)
        if instance.status not in DELETABLE_STATES:
            raise InvalidState(instance.instance_id, action, instance.status.value, allowed)
        try:
            return self.instances.transition(instance, expected=DELETABLE_STATES, changes=changes)
        except StaleInstanceState:
            raise InvalidState(instance.instance_id, action, "deleted", allowed) from None


def _window_text(minutes: float) -> str:
    if minutes >= 1 and float(minutes).is_integer():
        return f"{int(minutes)} minute{'' if minutes == 1 else 's'}"
    return f"{round(minutes * 60)} seconds"
