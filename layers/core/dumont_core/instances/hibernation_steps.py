"""The instance's side of hibernating and waking: the machine is destroyed only once the workspace's
snapshot is complete and verified, and a hibernated instance runs again on a new machine with its
workspace restored. The snapshot itself is the snapshots domain's."""

from __future__ import annotations

from typing import Any

from dumont_core.instances.models import MACHINE_GONE, EventType, InstanceEvent, InstanceStatus
from dumont_core.instances.step_support import (
    InstanceRef,
    StepSupport,
    failure_reason,
    with_note,
)


class HibernationSteps(StepSupport):
    def complete_hibernation(self, ref: InstanceRef, snapshot_id: str, reason: str) -> dict[str, Any]:
        """The snapshot is complete and verified: destroy the machine; nothing is billed from now."""
        instance = self._load(ref, InstanceStatus.HIBERNATING)
        self._release(instance)
        now = self.clock()
        savings_per_hour = instance.savings_per_hour
        hibernated = self._finish(
            instance,
            [InstanceStatus.HIBERNATING],
            {
                "status": InstanceStatus.HIBERNATED,
                "status_reason": reason,
                "provider_instance_id": None,
                "hibernated_at": now,
                "last_snapshot_id": snapshot_id,
                "last_snapshot_at": now,
                **instance.billing_stopped_at(now),
                **MACHINE_GONE,
            },
            [
                InstanceEvent.of(
                    EventType.HIBERNATED,
                    instance,
                    snapshot_id=snapshot_id,
                    reason=reason,
                    savings_per_hour=savings_per_hour,
                )
            ],
        )
        if self.hibernations is not None:
            self.hibernations.hibernated(hibernated)
        return {"savings_per_hour": savings_per_hour}

    def abort_hibernation(
        self, ref: InstanceRef, snapshot_id: str | None, failure: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The snapshot failed: the machine was never touched and runs on."""
        instance = self._load_if(ref, InstanceStatus.HIBERNATING)
        if instance is None:
            return {}
        reason = failure_reason(failure)
        self._finish(
            instance,
            [InstanceStatus.HIBERNATING],
            {"status": InstanceStatus.RUNNING, "status_reason": f"hibernation failed: {reason}"},
            [InstanceEvent.of(EventType.HIBERNATE_FAILED, instance, snapshot_id=snapshot_id, reason=reason)],
        )
        return {}

    def record_restore_failure(
        self, ref: InstanceRef, snapshot_id: str, failure: dict[str, Any] | None
    ) -> dict[str, Any]:
        self.instances.record_event(
            ref.team_id,
            ref.instance_id,
            EventType.ACTION_FAILED,
            action="restore",
            snapshot_id=snapshot_id,
            reason=failure_reason(failure),
        )
        return {}

    def finish_wake(self, ref: InstanceRef) -> dict[str, Any]:
        instance = self._load(ref, InstanceStatus.WAKING)
        events = self._running_events(
            instance, [EventType.STARTED, EventType.READY], instance.ip_address, instance.ssh_port
        )
        changes: dict[str, Any] = {
            "status": InstanceStatus.RUNNING,
            "status_reason": None,
            "hibernated_at": None,
        }
        now = self.clock()
        if instance.failing_over_since is not None:
            recovered_after = round((now - instance.failing_over_since).total_seconds(), 1)
            events.append(
                InstanceEvent.of(
                    EventType.FAILOVER_COMPLETED,
                    instance,
                    strategy="snapshot",
                    recovered_after_seconds=recovered_after,
                    ip=instance.ip_address,
                )
            )
            changes.update(failing_over_since=None, last_failover_at=now)
        self._finish(instance, [InstanceStatus.WAKING], changes, events)
        if self.hibernations is not None:
            self.hibernations.woke(instance, self.clock())
        return {}

    def fail_wake(self, ref: InstanceRef, failure: dict[str, Any] | None) -> dict[str, Any]:
        """Waking failed: give back what was rented; the workspace stays safe in its snapshot."""
        instance = self._load_if(ref, InstanceStatus.WAKING)
        if instance is None:
            return {}
        left = self._release_or_leave(instance)
        reason = failure_reason(failure)
        events = [InstanceEvent.of(EventType.ACTION_FAILED, instance, action="wake", reason=reason)]
        if instance.failing_over_since is not None:
            events.append(InstanceEvent.of(EventType.FAILOVER_FAILED, instance, reason=reason))
        self._finish(
            instance,
            [InstanceStatus.WAKING],
            {
                "status": InstanceStatus.HIBERNATED,
                "status_reason": with_note(f"wake failed: {reason}", left),
                "provider_instance_id": None,
                "failing_over_since": None,
                **instance.billing_stopped_at(self.clock()),
                **MACHINE_GONE,
            },
            events,
        )
        return {}
