"""Snapshots of a machine's workspace, and hibernation and waking, which are built on them.

The agent on the machine packs the workspace into content-addressed chunks and uploads the ones S3
does not already hold; we hand it presigned URLs and check the result. A machine is destroyed for
hibernation only after its snapshot is complete and every chunk of it is verified in S3.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from dumont_core.instances.models import (
    HEARTBEAT_RESET,
    WAKEABLE_STATES,
    EventType,
    Instance,
    InstanceEvent,
    InstanceStatus,
    InterruptionReason,
    StaleInstanceState,
)
from dumont_core.instances.service import InstanceService
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import (
    Conflict,
    InsufficientBalance,
    InvalidState,
    ServiceUnavailable,
    ValidationFailed,
)
from dumont_core.platform.identity import Principal
from dumont_core.platform.workflows import Workflow, WorkflowStarter, workflow_payload
from dumont_core.snapshots.models import (
    COMPRESSIONS,
    IN_PROGRESS,
    ChunkPlan,
    DownloadPlan,
    Snapshot,
    SnapshotPurpose,
    UploadPlan,
    snapshot_not_found,
)
from dumont_core.snapshots.repository import SnapshotRepository, StaleSnapshotState
from dumont_core.snapshots.store import SnapshotStore

RECOVERY_STRATEGY = "snapshot"
"""The failover path this domain offers: a new machine, and the last snapshot restored onto it."""

LATEST_SNAPSHOT_ATTEMPTS = 3
logger = Logger(child=True)


def _workspace_bytes(instance: Instance) -> int | None:
    measured = instance.latest_reading("workspace_bytes")
    return int(measured) if measured is not None else None


def new_snapshot_id() -> str:
    return f"snap_{secrets.token_hex(8)}"


@dataclass(frozen=True, kw_only=True)
class SnapshotService:
    instances: InstanceService
    snapshots: SnapshotRepository
    store: SnapshotStore
    workflows: WorkflowStarter
    clock: Clock = utc_now

    # What users ask for ---------------------------------------------------------------------------

    def create(self, principal: Principal, instance_id: str, name: str | None, compression: str) -> Snapshot:
        if compression not in COMPRESSIONS:
            raise ValidationFailed(
                f"compression {compression!r} is not offered; use {' or '.join(COMPRESSIONS)}",
                details={
                    "fields": [
                        {"field": "compression", "message": f"must be one of {', '.join(COMPRESSIONS)}"}
                    ]
                },
            )
        instance = self.instances.get(principal, instance_id)
        if instance.status != InstanceStatus.RUNNING:
            raise InvalidState(instance_id, "snapshot", instance.status.value, [InstanceStatus.RUNNING.value])
        snapshot = self._new_snapshot(instance, name, compression, purpose="manual")
        self._start(snapshot, instance, purpose="manual")
        return snapshot

    def checkpoint(self, instance: Instance, compression: str) -> Snapshot:
        """A snapshot of a running instance that nobody asked for: what a failover comes back from."""
        snapshot = self._new_snapshot(instance, "checkpoint", compression, purpose="checkpoint")
        self._start(snapshot, instance, purpose="checkpoint")
        return snapshot

    def begin_checkpoint(self, instance: Instance) -> Snapshot:
        """The record of a checkpoint that a workflow under way has an agent take (a failover's)."""
        return self._new_snapshot(instance, "checkpoint", "lz4", purpose="checkpoint")

    def get(self, principal: Principal, snapshot_id: str) -> Snapshot:
        snapshot = self.snapshots.get(principal.team_id, snapshot_id)
        if snapshot is None:
            raise snapshot_not_found(snapshot_id)
        return snapshot

    def list_snapshots(self, principal: Principal, instance_id: str | None = None) -> list[Snapshot]:
        snapshots = self.snapshots.list_for_team(principal.team_id)
        if instance_id is not None:
            snapshots = [snapshot for snapshot in snapshots if snapshot.instance_id == instance_id]
        return snapshots

    def stored_bytes(self, team_id: str) -> int:
        """What the team's completed snapshots keep in S3 (hibernated workspaces included): each one's
        compressed chunks, as recorded when it completed."""
        snapshots = self.snapshots.list_for_team(team_id)
        return sum(snapshot.stored_bytes or 0 for snapshot in snapshots if snapshot.status == "completed")

    def delete(self, principal: Principal, snapshot_id: str) -> Snapshot:
        snapshot = self.get(principal, snapshot_id)
        if snapshot.status in IN_PROGRESS:
            raise Conflict(
                f"Snapshot {snapshot_id} is still being taken; delete it once it is completed or failed",
                details={"snapshot_id": snapshot_id, "status": snapshot.status},
            )
        self._stop_being_latest(principal, snapshot)
        self.snapshots.delete(snapshot)
        self.store.delete_snapshot_objects(principal.team_id, snapshot_id)
        # Chunks no other snapshot uses go with the next scheduled sweep.
        return snapshot

    def _stop_being_latest(self, principal: Principal, snapshot: Snapshot) -> None:
        """Before the instance's latest snapshot is deleted, the one before it (or none) becomes the one it
        would be woken from; refused while the instance's workspace is in it alone."""
        for _ in range(LATEST_SNAPSHOT_ATTEMPTS):
            instance = self.instances.find(principal.team_id, snapshot.instance_id)
            if instance is None or instance.last_snapshot_id != snapshot.snapshot_id:
                return
            if instance.status in WAKEABLE_STATES or instance.status == InstanceStatus.WAKING:
                raise Conflict(
                    f"Snapshot {snapshot.snapshot_id} holds the workspace of {instance.status.value} "
                    f"instance {instance.instance_id}; wake or delete the instance first",
                    details={"snapshot_id": snapshot.snapshot_id, "instance_id": instance.instance_id},
                )
            previous = self.snapshots.newest_completed(
                instance.team_id, instance.instance_id, excluding=snapshot.snapshot_id
            )
            with contextlib.suppress(StaleInstanceState):  # it changed meanwhile: look again
                self.instances.replace_latest_snapshot(
                    instance,
                    previous.snapshot_id if previous else None,
                    previous.completed_at if previous else None,
                )
                return
        raise Conflict(
            f"Instance {snapshot.instance_id} kept changing while its snapshot was deleted; try again",
            details={"snapshot_id": snapshot.snapshot_id, "instance_id": snapshot.instance_id},
        )

    def restore(self, principal: Principal, snapshot_id: str, instance_id: str | None = None) -> Snapshot:
        """Restore onto `instance_id`, or onto the instance the snapshot was taken of."""
        snapshot = self.get(principal, snapshot_id)
        instance_id = instance_id or snapshot.instance_id
        if snapshot.status != "completed":
            raise Conflict(
                f"Snapshot {snapshot_id} is {snapshot.status}; only a completed snapshot can be restored",
                details={"snapshot_id": snapshot_id, "status": snapshot.status},
            )
        instance = self.instances.get(principal, instance_id)
        if instance.status != InstanceStatus.RUNNING:
            raise InvalidState(instance_id, "restore", instance.status.value, [InstanceStatus.RUNNING.value])
        payload = workflow_payload(instance.team_id, instance_id, snapshot={"snapshot_id": snapshot_id})
        try:
            self.workflows.start(Workflow.RESTORE, f"{instance_id}-restore-{secrets.token_hex(4)}", payload)
        except Exception as error:
            logger.exception("Could not start a restore", extra={"snapshot_id": snapshot_id})
            raise ServiceUnavailable("The restore could not be started; please try again") from error
        return snapshot

    def hibernate(self, principal: Principal, instance_id: str, reason: str) -> tuple[Instance, Snapshot]:
        """Snapshot the workspace, then destroy the machine; the machine stays if the snapshot fails."""
        return self.hibernate_instance(self.instances.get(principal, instance_id), reason)

    def hibernate_instance(self, instance: Instance, reason: str) -> tuple[Instance, Snapshot]:
        allowed = [InstanceStatus.RUNNING.value]
        if instance.status != InstanceStatus.RUNNING:
            raise InvalidState(instance.instance_id, "hibernate", instance.status.value, allowed)
        try:
            hibernating = self.instances.transition(
                instance,
                expected=[InstanceStatus.RUNNING],
                changes={"status": InstanceStatus.HIBERNATING, "status_reason": reason},
            )
        except StaleInstanceState:
            current = self.instances.find(instance.team_id, instance.instance_id)
            state = current.status.value if current else "deleted"
            raise InvalidState(instance.instance_id, "hibernate", state, allowed) from None
        snapshot = self._new_snapshot(
            hibernating, f"hibernation {self.clock():%Y-%m-%d %H:%M}", "lz4", "hibernate"
        )
        try:
            self._start(snapshot, hibernating, purpose="hibernate", reason=reason)
        except ServiceUnavailable:
            with contextlib.suppress(StaleInstanceState):
                self.instances.transition(
                    hibernating,
                    expected=[InstanceStatus.HIBERNATING],
                    changes={"status": InstanceStatus.RUNNING, "status_reason": None},
                )
            raise
        return hibernating, snapshot

    def wake(self, principal: Principal, instance_id: str, *, action: str = "wake") -> Instance:
        """Rent a machine, restore the last snapshot onto it, run again; a refusal names `action`."""
        return self._wake(self.instances.get(principal, instance_id), action=action)

    def recover(self, instance: Instance) -> Instance | None:
        """Fail the interrupted instance over: run it again on a new machine from its last completed
        snapshot (`failover.started`, then `failover.completed` or `failover.failed`): the `snapshot`
        strategy, and where the others end when their standby cannot take over."""
        if instance.last_snapshot_id is None:
            reason = "no completed snapshot to recover the workspace from"
            self.instances.record_event(
                instance.team_id, instance.instance_id, EventType.FAILOVER_FAILED, reason=reason
            )
            return None
        # A drill gives up a machine the team was paying for, on purpose: its replacement is not refused.
        drill = (instance.status_reason or "").startswith(f"interrupted ({InterruptionReason.DRILL.value})")
        try:
            return self._wake(instance, failing_over=True, paid_for=drill)
        except (InvalidState, ServiceUnavailable, InsufficientBalance) as error:
            logger.warning(
                "Could not fail over", extra={"instance_id": instance.instance_id, "why": str(error)}
            )
            self.instances.record_event(
                instance.team_id, instance.instance_id, EventType.FAILOVER_FAILED, reason=str(error)
            )
            return None

    def _wake(
        self, instance: Instance, *, failing_over: bool = False, paid_for: bool = False, action: str = "wake"
    ) -> Instance:
        instance_id = instance.instance_id
        allowed = sorted(status.value for status in WAKEABLE_STATES)
        if instance.status not in WAKEABLE_STATES or instance.last_snapshot_id is None:
            raise InvalidState(instance_id, action, instance.status.value, allowed)
        if not paid_for:
            self.instances.ensure_affordable(instance, f"{action} instance {instance_id}", new_machine=True)
        changes: dict[str, Any] = {
            "status": InstanceStatus.WAKING,
            "status_reason": None,
            "provider_instance_id": None,
            **HEARTBEAT_RESET,
        }
        events = []
        if failing_over:
            changes["failing_over_since"] = self.clock()
            started = InstanceEvent.of(
                EventType.FAILOVER_STARTED,
                instance,
                strategy=RECOVERY_STRATEGY,
                snapshot_id=instance.last_snapshot_id,
            )
            events.append(started)
        try:
            waking = self.instances.transition(
                instance, expected=[instance.status], changes=changes, events=events
            )
        except StaleInstanceState:
            raise InvalidState(instance_id, "wake", "changed meanwhile", allowed) from None
        payload = workflow_payload(
            instance.team_id, instance_id, snapshot={"snapshot_id": instance.last_snapshot_id}
        )
        try:
            self.workflows.start(Workflow.WAKE, f"{instance_id}-wake-{secrets.token_hex(4)}", payload)
        except Exception as error:
            logger.exception("Could not start waking", extra={"instance_id": instance_id})
            with contextlib.suppress(StaleInstanceState):
                self.instances.transition(
                    waking,
                    expected=[InstanceStatus.WAKING],
                    changes={"status": instance.status, "failing_over_since": None},
                )
            raise ServiceUnavailable("Waking could not be started; please try again") from error
        return waking

    # What the agent asks for -------------------------------------------------------------------------

    def plan_uploads(
        self, agent: Principal, snapshot_id: str, chunks: list[ChunkPlan], *, append: bool = False
    ) -> UploadPlan:
        """Pin the chunks the snapshot will use, and hand out upload URLs for those S3 lacks.

        `chunks` are all of the snapshot's chunks, or with `append` more of them, added to those planned
        before: an agent plans a batch at a time and uploads it while it packs the next."""
        snapshot = self._agent_snapshot(agent, snapshot_id)
        if snapshot.status not in ("compressing", "uploading"):
            raise Conflict(
                f"Snapshot {snapshot_id} is {snapshot.status}; it takes no uploads",
                details={"snapshot_id": snapshot_id, "status": snapshot.status},
            )
        digests = list(dict.fromkeys(chunk.digest for chunk in chunks))
        planned = self.store.digests(agent.team_id, snapshot_id) if append else None
        # The digest list is stored before we look at S3: a sweep that starts now keeps these chunks.
        self.store.put_digests(agent.team_id, snapshot_id, list(dict.fromkeys([*(planned or []), *digests])))
        stored = self.store.stored_chunks(agent.team_id)
        uploads = {
            digest: self.store.upload_url(self.store.chunk_key(agent.team_id, digest))
            for digest in digests
            if digest not in stored
        }
        with contextlib.suppress(StaleSnapshotState):
            self.snapshots.move(
                snapshot, expected=("compressing", "uploading"), status="uploading", updated_at=self.clock()
            )
        return UploadPlan(
            uploads=uploads,
            manifest_url=self.store.upload_url(self.store.manifest_key(agent.team_id, snapshot_id)),
        )

    def plan_downloads(self, agent: Principal, snapshot_id: str) -> DownloadPlan:
        snapshot = self._agent_snapshot(agent, snapshot_id, any_instance=True)
        if snapshot.status != "completed":
            raise Conflict(
                f"Snapshot {snapshot_id} is {snapshot.status}; only a completed snapshot can be restored",
                details={"snapshot_id": snapshot_id},
            )
        digests = self.store.digests(agent.team_id, snapshot_id) or []
        return DownloadPlan(
            manifest_url=self.store.download_url(self.store.manifest_key(agent.team_id, snapshot_id)),
            chunks={
                digest: self.store.download_url(self.store.chunk_key(agent.team_id, digest))
                for digest in digests
            },
        )

    # The workflow's failure path --------------------------------------------------------------------

    def fail_snapshot(self, team_id: str, snapshot_id: str, reason: str) -> None:
        snapshot = self.snapshots.get(team_id, snapshot_id)
        if snapshot is None or snapshot.status in ("completed", "failed"):
            return
        try:
            self.snapshots.move(
                snapshot, expected=IN_PROGRESS, status="failed", status_reason=reason, updated_at=self.clock()
            )
        except StaleSnapshotState:
            return  # it finished meanwhile (completed, or failed by another): its own event says so
        self.instances.record_event(
            team_id, snapshot.instance_id, EventType.SNAPSHOT_FAILED, snapshot_id=snapshot_id, reason=reason
        )

    # Helpers ----------------------------------------------------------------------------------------

    def _agent_snapshot(self, agent: Principal, snapshot_id: str, *, any_instance: bool = False) -> Snapshot:
        snapshot = self.snapshots.get(agent.team_id, snapshot_id)
        # An agent sees its own instance's snapshots, and the one it is asked to restore.
        if snapshot is None or (not any_instance and snapshot.instance_id != agent.instance_id):
            raise snapshot_not_found(snapshot_id)
        return snapshot

    def _new_snapshot(
        self, instance: Instance, name: str | None, compression: str, purpose: SnapshotPurpose
    ) -> Snapshot:
        now = self.clock()
        snapshot = Snapshot(
            snapshot_id=new_snapshot_id(),
            instance_id=instance.instance_id,
            account_id=instance.account_id,
            team_id=instance.team_id,
            name=name,
            compression=compression,
            purpose=purpose,
            status="compressing",
            estimated_bytes=_workspace_bytes(instance),
            created_at=now,
            updated_at=now,
        )
        self.snapshots.create(snapshot)
        return snapshot

    def _start(self, snapshot: Snapshot, instance: Instance, **extra: Any) -> None:
        payload = workflow_payload(
            instance.team_id,
            instance.instance_id,
            snapshot={"snapshot_id": snapshot.snapshot_id, "compression": snapshot.compression, **extra},
        )
        try:
            self.workflows.start(
                Workflow.SNAPSHOT, f"{snapshot.snapshot_id}-{Workflow.SNAPSHOT.value}", payload
            )
        except Exception as error:
            logger.exception("Could not start a snapshot", extra={"snapshot_id": snapshot.snapshot_id})
            self.fail_snapshot(
                instance.team_id, snapshot.snapshot_id, "the snapshot workflow could not be started"
            )
            raise ServiceUnavailable("The snapshot could not be started; please try again") from error
