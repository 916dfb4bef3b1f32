"""Snapshots of a machine's workspace, and hibernation and waking, which are built on them.

The agent on the machine packs the workspace into content-addressed chunks and uploads the ones S3
does not already hold; we hand it presigned URLs and check the result. A machine is destroyed for
hibernation only after its snapshot is complete and every chunk of it is verified in S3.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from dumont_core.data.instances import InstanceRepository, StaleInstanceState
from dumont_core.data.snapshots import SnapshotItem, SnapshotRepository, SnapshotStore, StaleSnapshotState
from dumont_core.errors import Conflict, InvalidState, NotFound, ServiceUnavailable, ValidationFailed
from dumont_core.events import EventPublisher
from dumont_core.models import EventType, Instance, InstanceEvent, InstanceStatus, Principal, utc_now
from dumont_core.services.instances import team_instance
from dumont_core.workflows import Workflow, WorkflowStarter

logger = Logger(child=True)

COMPRESSIONS = ("lz4",)
IN_PROGRESS = ("compressing", "uploading", "verifying")
SWEEP_LEASE = timedelta(minutes=10)


class SnapshotIncomplete(Exception):
    """A finished snapshot is missing chunks or its manifest in S3 (ASL error name)."""


class SweepInProgress(Exception):
    """Chunks of the team are being swept; completing a snapshot waits for it (ASL error name)."""


def snapshot_not_found(snapshot_id: str) -> NotFound:
    return NotFound("SNAPSHOT_NOT_FOUND", f"Snapshot {snapshot_id} not found", snapshot_id=snapshot_id)


def new_snapshot_id() -> str:
    return f"snap_{secrets.token_hex(8)}"


@dataclass(frozen=True)
class ChunkPlan:
    digest: str
    size: int
    stored_size: int


@dataclass(frozen=True)
class UploadPlan:
    uploads: dict[str, str]
    """digest -> presigned PUT URL, for the chunks S3 does not hold yet."""
    manifest_url: str


@dataclass(frozen=True)
class DownloadPlan:
    manifest_url: str
    chunks: dict[str, str]
    """digest -> presigned GET URL."""


class SnapshotService:
    def __init__(
        self,
        instances: InstanceRepository,
        snapshots: SnapshotRepository,
        store: SnapshotStore,
        publisher: EventPublisher,
        workflows: WorkflowStarter,
        workflow_config: dict[str, int],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._workflow_config = workflow_config
        self._instances = instances
        self._snapshots = snapshots
        self._store = store
        self._publisher = publisher
        self._workflows = workflows
        self._clock = clock

    # What users ask for ---------------------------------------------------------------------------

    def create(
        self, principal: Principal, instance_id: str, name: str | None, compression: str
    ) -> SnapshotItem:
        if compression not in COMPRESSIONS:
            raise ValidationFailed(
                f"compression {compression!r} is not offered; use lz4",
                details={"fields": [{"field": "compression", "message": "must be lz4"}]},
            )
        instance = team_instance(self._instances, principal, instance_id)
        if instance.status != InstanceStatus.RUNNING:
            raise InvalidState(instance_id, "snapshot", instance.status.value, [InstanceStatus.RUNNING.value])
        snapshot = self._new_snapshot(instance, name, compression, purpose="manual")
        self._start(Workflow.SNAPSHOT, snapshot, instance, purpose="manual")
        return snapshot

    def get(self, principal: Principal, snapshot_id: str) -> SnapshotItem:
        snapshot = self._snapshots.get(principal.team_id, snapshot_id)
        if snapshot is None:
            raise snapshot_not_found(snapshot_id)
        return snapshot

    def list_snapshots(self, principal: Principal, instance_id: str | None = None) -> list[SnapshotItem]:
        snapshots = self._snapshots.list_for_team(principal.team_id)
        if instance_id is not None:
            snapshots = [snapshot for snapshot in snapshots if snapshot.instance_id == instance_id]
        return snapshots

    def delete(self, principal: Principal, snapshot_id: str) -> SnapshotItem:
        snapshot = self.get(principal, snapshot_id)
        if snapshot.status in IN_PROGRESS:
            raise Conflict(
                f"Snapshot {snapshot_id} is still being taken; delete it once it is completed or failed",
                details={"snapshot_id": snapshot_id, "status": snapshot.status},
            )
        instance = self._instances.get(principal.team_id, snapshot.instance_id)
        if (
            instance is not None
            and instance.last_snapshot_id == snapshot_id
            and instance.status in (InstanceStatus.HIBERNATED, InstanceStatus.WAKING)
        ):
            raise Conflict(
                f"Snapshot {snapshot_id} holds the workspace of hibernated instance {instance.instance_id}; "
                "wake or delete the instance first",
                details={"snapshot_id": snapshot_id, "instance_id": instance.instance_id},
            )
        self._snapshots.delete(snapshot)
        self._store.delete_snapshot_objects(principal.team_id, snapshot_id)
        # Chunks no other snapshot uses go with the next scheduled sweep.
        return snapshot

    def restore(self, principal: Principal, snapshot_id: str, instance_id: str) -> SnapshotItem:
        snapshot = self.get(principal, snapshot_id)
        if snapshot.status != "completed":
            raise Conflict(
                f"Snapshot {snapshot_id} is {snapshot.status}; only a completed snapshot can be restored",
                details={"snapshot_id": snapshot_id, "status": snapshot.status},
            )
        instance = team_instance(self._instances, principal, instance_id)
        if instance.status != InstanceStatus.RUNNING:
            raise InvalidState(instance_id, "restore", instance.status.value, [InstanceStatus.RUNNING.value])
        payload = {**self._workflow_input(instance), "snapshot": {"snapshot_id": snapshot_id}}
        try:
            self._workflows.start(Workflow.RESTORE, f"{instance_id}-restore-{secrets.token_hex(4)}", payload)
        except Exception as error:
            logger.exception("Could not start a restore", extra={"snapshot_id": snapshot_id})
            raise ServiceUnavailable("The restore could not be started; please try again") from error
        return snapshot

    def hibernate(self, principal: Principal, instance_id: str, reason: str) -> tuple[Instance, SnapshotItem]:
        """Snapshot the workspace, then destroy the machine; the machine stays if the snapshot fails."""
        instance = team_instance(self._instances, principal, instance_id)
        return self.hibernate_instance(instance, reason)

    def hibernate_instance(self, instance: Instance, reason: str) -> tuple[Instance, SnapshotItem]:
        allowed = [InstanceStatus.RUNNING.value]
        if instance.status != InstanceStatus.RUNNING:
            raise InvalidState(instance.instance_id, "hibernate", instance.status.value, allowed)
        try:
            hibernating = self._instances.transition(
                instance,
                expected=[InstanceStatus.RUNNING],
                changes={
                    "status": InstanceStatus.HIBERNATING,
                    "status_reason": reason,
                    "updated_at": self._clock(),
                },
            )
        except StaleInstanceState:
            current = self._instances.get(instance.team_id, instance.instance_id)
            state = current.status.value if current else "deleted"
            raise InvalidState(instance.instance_id, "hibernate", state, allowed) from None
        snapshot = self._new_snapshot(
            hibernating, f"hibernation {self._clock():%Y-%m-%d %H:%M}", "lz4", "hibernate"
        )
        try:
            self._start(Workflow.SNAPSHOT, snapshot, hibernating, purpose="hibernate", reason=reason)
        except ServiceUnavailable:
            with contextlib.suppress(StaleInstanceState):
                self._instances.transition(
                    hibernating,
                    expected=[InstanceStatus.HIBERNATING],
                    changes={
                        "status": InstanceStatus.RUNNING,
                        "status_reason": None,
                        "updated_at": self._clock(),
                    },
                )
            raise
        return hibernating, snapshot

    def wake(self, principal: Principal, instance_id: str) -> Instance:
        """Rent a matching machine, restore the last snapshot onto it, and run again."""
        instance = team_instance(self._instances, principal, instance_id)
        allowed = [InstanceStatus.HIBERNATED.value]
        if instance.status != InstanceStatus.HIBERNATED or instance.last_snapshot_id is None:
            raise InvalidState(instance_id, "wake", instance.status.value, allowed)
        try:
            waking = self._instances.transition(
                instance,
                expected=[InstanceStatus.HIBERNATED],
                changes={
                    "status": InstanceStatus.WAKING,
                    "status_reason": None,
                    "provider_instance_id": None,
                    "updated_at": self._clock(),
                },
            )
        except StaleInstanceState:
            raise InvalidState(instance_id, "wake", "changed meanwhile", allowed) from None
        payload = {**self._workflow_input(waking), "snapshot": {"snapshot_id": instance.last_snapshot_id}}
        try:
            self._workflows.start(Workflow.WAKE, f"{instance_id}-wake-{secrets.token_hex(4)}", payload)
        except Exception as error:
            logger.exception("Could not start waking", extra={"instance_id": instance_id})
            with contextlib.suppress(StaleInstanceState):
                self._instances.transition(
                    waking,
                    expected=[InstanceStatus.WAKING],
                    changes={"status": InstanceStatus.HIBERNATED, "updated_at": self._clock()},
                )
            raise ServiceUnavailable("Waking could not be started; please try again") from error
        return waking

    # What the agent asks for -------------------------------------------------------------------------

    def plan_uploads(self, agent: Principal, snapshot_id: str, chunks: list[ChunkPlan]) -> UploadPlan:
        """Pin the chunks the snapshot will use, and hand out upload URLs for those S3 lacks."""
        snapshot = self._agent_snapshot(agent, snapshot_id)
        if snapshot.status not in ("compressing", "uploading"):
            raise Conflict(
                f"Snapshot {snapshot_id} is {snapshot.status}; it takes no uploads",
                details={"snapshot_id": snapshot_id, "status": snapshot.status},
            )
        digests = list(dict.fromkeys(chunk.digest for chunk in chunks))
        # The digest list is stored before we look at S3: a sweep that starts now keeps these chunks.
        self._store.put_digests(agent.team_id, snapshot_id, digests)
        stored = self._store.stored_chunks(agent.team_id)
        uploads = {
            digest: self._store.upload_url(self._store.chunk_key(agent.team_id, digest))
            for digest in digests
            if digest not in stored
        }
        with contextlib.suppress(StaleSnapshotState):
            self._snapshots.move(
                snapshot, expected=("compressing", "uploading"), status="uploading", updated_at=self._clock()
            )
        return UploadPlan(
            uploads=uploads,
            manifest_url=self._store.upload_url(self._store.manifest_key(agent.team_id, snapshot_id)),
        )

    def plan_downloads(self, agent: Principal, snapshot_id: str) -> DownloadPlan:
        snapshot = self._agent_snapshot(agent, snapshot_id, any_instance=True)
        if snapshot.status != "completed":
            raise Conflict(
                f"Snapshot {snapshot_id} is {snapshot.status}; only a completed snapshot can be restored",
                details={"snapshot_id": snapshot_id},
            )
        digests = self._store.digests(agent.team_id, snapshot_id) or []
        return DownloadPlan(
            manifest_url=self._store.download_url(self._store.manifest_key(agent.team_id, snapshot_id)),
            chunks={
                digest: self._store.download_url(self._store.chunk_key(agent.team_id, digest))
                for digest in digests
            },
        )

    # Workflow steps ---------------------------------------------------------------------------------

    def finish_snapshot(self, team_id: str, snapshot_id: str, result: dict[str, Any]) -> dict[str, Any]:
        """Check that S3 holds the manifest and every chunk, then mark the snapshot completed."""
        snapshot = self._snapshots.get(team_id, snapshot_id)
        if snapshot is None:
            raise SnapshotIncomplete(f"Snapshot {snapshot_id} is gone")
        if snapshot.status == "completed":
            return {"snapshot_id": snapshot_id}
        now = self._clock()
        if self._snapshots.lease_held(team_id, now):
            raise SweepInProgress(f"Chunks of team {team_id} are being swept; trying again shortly")
        with contextlib.suppress(StaleSnapshotState):
            self._snapshots.move(snapshot, expected=IN_PROGRESS, status="verifying", updated_at=now)
        digests = self._store.digests(team_id, snapshot_id)
        if digests is None or not self._store.manifest_exists(team_id, snapshot_id):
            raise SnapshotIncomplete("The agent finished without uploading the snapshot's manifest")
        missing = set(digests) - self._store.stored_chunks(team_id)
        if missing:
            raise SnapshotIncomplete(f"{len(missing)} of {len(digests)} chunks are missing in S3")
        size = int(result.get("size_bytes") or 0)
        stored = int(result.get("stored_bytes") or 0)
        ratio = round(size / stored, 2) if stored else 1.0
        self._snapshots.move(
            snapshot,
            expected=("verifying",),
            status="completed",
            status_reason=None,
            size_bytes=size,
            stored_bytes=stored,
            uploaded_bytes=int(result.get("uploaded_bytes") or 0),
            file_count=int(result.get("file_count") or 0),
            chunk_count=len(digests),
            upload_seconds=float(result.get("upload_seconds") or 0),
            completed_at=self._clock(),
            updated_at=self._clock(),
        )
        instance = self._instances.get(team_id, snapshot.instance_id)
        if instance is not None:
            completed = InstanceEvent.of(
                EventType.SNAPSHOT_COMPLETED,
                instance,
                snapshot_id=snapshot_id,
                size_bytes=size,
                stored_bytes=stored,
                uploaded_bytes=snapshot.uploaded_bytes,
                compression_ratio=ratio,
            )
            self._record_event(instance, completed)
        return {"snapshot_id": snapshot_id}

    def fail_snapshot(self, team_id: str, snapshot_id: str, reason: str) -> None:
        snapshot = self._snapshots.get(team_id, snapshot_id)
        if snapshot is None or snapshot.status in ("completed", "failed"):
            return
        with contextlib.suppress(StaleSnapshotState):
            self._snapshots.move(
                snapshot,
                expected=IN_PROGRESS,
                status="failed",
                status_reason=reason,
                updated_at=self._clock(),
            )
        instance = self._instances.get(team_id, snapshot.instance_id)
        if instance is not None:
            self._record_event(
                instance,
                InstanceEvent.of(EventType.SNAPSHOT_FAILED, instance, snapshot_id=snapshot_id, reason=reason),
            )

    def sweep_pending(self) -> dict[str, int]:
        """Sweep every team that deleted snapshots since the last run: team -> chunks removed.

        A team with a snapshot in progress is left for a later run.
        """
        removed: dict[str, int] = {}
        for team_id in self._snapshots.teams_to_sweep():
            count = self.sweep(team_id)
            if count is not None:
                removed[team_id] = count
                self._snapshots.swept(team_id)
        return removed

    def sweep(self, team_id: str) -> int | None:
        """Remove the team's chunks no snapshot uses; None when it could not run now (a snapshot is being
        taken, or another sweep holds the lease)."""
        holder = secrets.token_hex(8)
        if not self._snapshots.take_lease(team_id, holder, self._clock(), SWEEP_LEASE):
            return None
        try:
            snapshots = self._snapshots.list_for_team(team_id)
            if any(snapshot.status in IN_PROGRESS for snapshot in snapshots):
                return None
            used: set[str] = set()
            for snapshot in snapshots:
                used.update(self._store.digests(team_id, snapshot.snapshot_id) or [])
            unused = self._store.stored_chunks(team_id) - used
            self._store.delete_chunks(team_id, sorted(unused))
            return len(unused)
        finally:
            self._snapshots.release_lease(team_id, holder)

    # Helpers ----------------------------------------------------------------------------------------

    def _agent_snapshot(
        self, agent: Principal, snapshot_id: str, *, any_instance: bool = False
    ) -> SnapshotItem:
        snapshot = self._snapshots.get(agent.team_id, snapshot_id)
        # An agent sees its own instance's snapshots, and the one it is asked to restore.
        if snapshot is None or (not any_instance and snapshot.instance_id != agent.instance_id):
            raise snapshot_not_found(snapshot_id)
        return snapshot

    def _new_snapshot(
        self, instance: Instance, name: str | None, compression: str, purpose: str
    ) -> SnapshotItem:
        now = self._clock()
        snapshot = SnapshotItem(
            snapshot_id=new_snapshot_id(),
            instance_id=instance.instance_id,
            account_id=instance.account_id,
            team_id=instance.team_id,
            name=name,
            compression=compression,
            purpose=purpose,
            status="compressing",
            created_at=now,
            updated_at=now,
        )
        self._snapshots.create(snapshot)
        return snapshot

    def _start(self, workflow: Workflow, snapshot: SnapshotItem, instance: Instance, **extra: str) -> None:
        payload = {
            **self._workflow_input(instance),
            "snapshot": {"snapshot_id": snapshot.snapshot_id, **extra},
        }
        try:
            self._workflows.start(workflow, f"{snapshot.snapshot_id}-{workflow.value}", payload)
        except Exception as error:
            logger.exception("Could not start a snapshot", extra={"snapshot_id": snapshot.snapshot_id})
            self.fail_snapshot(
                instance.team_id, snapshot.snapshot_id, "the snapshot workflow could not be started"
            )
            raise ServiceUnavailable("The snapshot could not be started; please try again") from error

    def _workflow_input(self, instance: Instance) -> dict[str, Any]:
        return {
            "instance": {"team_id": instance.team_id, "instance_id": instance.instance_id},
            "config": dict(self._workflow_config),
        }

    def _record_event(self, instance: Instance, event: InstanceEvent) -> None:
        self._instances.add_event(event)
        self._publisher.publish([event])
