"""What runs after the agent is done, or on a schedule: a finished snapshot is verified in S3 before it
counts as completed, and chunks no snapshot uses any more are swept, under a lease, team by team."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dumont_core.instances.service import InstanceService
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.snapshots.models import IN_PROGRESS
from dumont_core.snapshots.repository import SnapshotRepository, StaleSnapshotState
from dumont_core.snapshots.store import SnapshotStore

SWEEP_LEASE = timedelta(minutes=10)


class SnapshotIncomplete(Exception):
    """A finished snapshot is missing chunks or its manifest in S3 (ASL error name)."""


class SweepInProgress(Exception):
    """Chunks of the team are being swept; completing a snapshot waits for it (ASL error name)."""


@dataclass(frozen=True, kw_only=True)
class SnapshotSteps:
    instances: InstanceService
    snapshots: SnapshotRepository
    store: SnapshotStore
    clock: Clock = utc_now

    def finish_snapshot(self, team_id: str, snapshot_id: str, result: dict[str, Any]) -> dict[str, Any]:
        """Check that S3 holds the manifest and every chunk, then mark the snapshot completed."""
        snapshot = self.snapshots.get(team_id, snapshot_id)
        if snapshot is None:
            raise SnapshotIncomplete(f"Snapshot {snapshot_id} is gone")
        if snapshot.status == "completed":
            return {"snapshot_id": snapshot_id}
        now = self.clock()
        if self.snapshots.lease_held(team_id, now):
            raise SweepInProgress(f"Chunks of team {team_id} are being swept; trying again shortly")
        with contextlib.suppress(StaleSnapshotState):
            self.snapshots.move(snapshot, expected=IN_PROGRESS, status="verifying", updated_at=now)
        digests = self.store.digests(team_id, snapshot_id)
        if digests is None or not self.store.manifest_exists(team_id, snapshot_id):
            raise SnapshotIncomplete("The agent finished without uploading the snapshot's manifest")
        missing = set(digests) - self.store.stored_chunks(team_id)
        if missing:
            raise SnapshotIncomplete(f"{len(missing)} of {len(digests)} chunks are missing in S3")
        size = int(result.get("size_bytes") or 0)
        stored = int(result.get("stored_bytes") or 0)
        uploaded = int(result.get("uploaded_bytes") or 0)
        self.snapshots.move(
            snapshot,
            expected=("verifying",),
            status="completed",
            status_reason=None,
            size_bytes=size,
            stored_bytes=stored,
            uploaded_bytes=uploaded,
            file_count=int(result.get("file_count") or 0),
            chunk_count=len(digests),
            upload_seconds=float(result.get("upload_seconds") or 0),
            completed_at=self.clock(),
            updated_at=self.clock(),
        )
        self.instances.snapshot_completed(
            team_id,
            snapshot.instance_id,
            snapshot_id=snapshot_id,
            size_bytes=size,
            stored_bytes=stored,
            uploaded_bytes=uploaded,
            compression_ratio=round(size / stored, 2) if stored else 1.0,
        )
        return {"snapshot_id": snapshot_id}

    def sweep_pending(self) -> dict[str, int]:
        """Sweep every team that deleted snapshots since the last run: team -> chunks removed.

        A team with a snapshot in progress is left for a later run.
        """
        removed: dict[str, int] = {}
        for team_id in self.snapshots.teams_to_sweep():
            count = self.sweep(team_id)
            if count is not None:
                removed[team_id] = count
                self.snapshots.swept(team_id)
        return removed

    def sweep(self, team_id: str) -> int | None:
        """Remove the team's chunks no snapshot uses; None when it could not run now (a snapshot is being
        taken, or another sweep holds the lease)."""
        holder = secrets.token_hex(8)
        if not self.snapshots.take_lease(team_id, holder, self.clock(), SWEEP_LEASE):
            return None
        try:
            snapshots = self.snapshots.list_for_team(team_id)
            if any(snapshot.status in IN_PROGRESS for snapshot in snapshots):
                return None
            used: set[str] = set()
            for snapshot in snapshots:
                used.update(self.store.digests(team_id, snapshot.snapshot_id) or [])
            unused = self.store.stored_chunks(team_id) - used
            self.store.delete_chunks(team_id, sorted(unused))
            return len(unused)
        finally:
            self.snapshots.release_lease(team_id, holder)
