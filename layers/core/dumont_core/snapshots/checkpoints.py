"""Checkpoints: every running instance with failover on is snapshotted every
`checkpoint_interval_minutes` (default 10), so a failover loses at most that much work. They are
ordinary incremental snapshots (only what changed is uploaded); the two newest completed checkpoints
of each instance are kept, older ones deleted (their chunks swept as any deleted snapshot's).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from dumont_core.instances.models import (
    DEFAULT_CHECKPOINT_MINUTES,
    Instance,
    InstanceStatus,
    StaleInstanceState,
)
from dumont_core.instances.service import InstanceService
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import DumontError
from dumont_core.platform.identity import Principal
from dumont_core.snapshots.service import SnapshotService

logger = Logger(child=True)

CHECKPOINTS_KEPT = 2
CHECKPOINT_COMPRESSION = "lz4"


def checkpoint_due(instance: Instance, now: datetime) -> bool:
    """Whether a running instance with failover on is due a checkpoint: nothing completed or started
    for a whole interval (so a failed or slow one is tried again after an interval, never piled up)."""
    if not instance.failover_enabled or instance.status != InstanceStatus.RUNNING:
        return False
    interval = timedelta(minutes=instance.checkpoint_interval_minutes or DEFAULT_CHECKPOINT_MINUTES)
    latest = max(
        (moment for moment in (instance.last_snapshot_at, instance.checkpoint_started_at) if moment),
        default=None,
    )
    return latest is None or now - latest >= interval


@dataclass(frozen=True, kw_only=True)
class Checkpoints:
    instances: InstanceService
    snapshots: SnapshotService
    clock: Clock = field(default=utc_now)

    def take_due(self) -> list[str]:
        """Start the checkpoints that are due; the ids of the snapshots started."""
        now = self.clock()
        started = []
        for instance in self.instances.running():
            if not checkpoint_due(instance, now):
                continue
            try:
                marked = self.instances.configure(instance, {"checkpoint_started_at": now})
            except StaleInstanceState:
                continue
            try:
                started.append(self.snapshots.checkpoint(marked, CHECKPOINT_COMPRESSION).snapshot_id)
            except DumontError as error:
                logger.warning(
                    "Could not start a checkpoint",
                    extra={"instance_id": instance.instance_id, "why": str(error)},
                )
                continue
            self._forget_old(marked)
        return started

    def _forget_old(self, instance: Instance) -> None:
        """Delete all but the newest completed checkpoints of the instance."""
        owner = Principal(account_id=instance.account_id, team_id=instance.team_id)
        completed = [
            snapshot
            for snapshot in self.snapshots.list_snapshots(owner, instance.instance_id)
            if snapshot.purpose == "checkpoint" and snapshot.status == "completed"
        ]
        completed.sort(key=lambda snapshot: snapshot.created_at, reverse=True)
        for old in completed[CHECKPOINTS_KEPT:]:
            with contextlib.suppress(DumontError):
                self.snapshots.delete(owner, old.snapshot_id)
