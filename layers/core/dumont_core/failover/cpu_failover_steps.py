"""The steps of the `cpu_failover` workflow (`infra/statemachines/cpu_failover.asl.json`), the instance
`waking` all along: the CPU standby starts and catches up with the last checkpoint, the instance's
address becomes the standby's, a GPU is rented (the provisioning steps), the standby's workspace is
snapshotted and restored onto the GPU, and the instance switches back, the standby stopped.

Any failure gives back the GPU rented, stops the standby, records `failover.failed` and hands the
instance to the snapshot path, from the standby's snapshot when one was completed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from dumont_core.failover.cpu_standby import STANDBY_SSH_PORT, STRATEGY
from dumont_core.instances.models import (
    MACHINE_GONE,
    EventType,
    Instance,
    InstanceEvent,
    InstanceStatus,
    StaleInstanceState,
    Standby,
)
from dumont_core.instances.step_support import (
    BootTimedOut,
    InstanceRef,
    MachineFailed,
    StepSupport,
    WorkflowStepError,
    failure_reason,
    machine_fields,
    with_note,
)
from dumont_core.platform.settings import CpuStandbySettings
from dumont_core.providers.cpu_machines import CpuMachineError, CpuMachines, CpuMachineState
from dumont_core.providers.models import ProviderMachineStatus
from dumont_core.snapshots.service import SnapshotService

logger = Logger(child=True)


class StandbyLost(WorkflowStepError):
    """The CPU standby is gone or would not start: the snapshot path takes over."""


class Fallback(Protocol):
    def recover(self, instance: Instance) -> Instance | None: ...


@dataclass(frozen=True, kw_only=True)
class CpuFailoverSteps(StepSupport):
    machines: CpuMachines
    snapshots: SnapshotService
    cpu_settings: CpuStandbySettings
    fallback: Fallback
    """The snapshot path, where a failed CPU failover ends."""

    def start_standby(self, ref: InstanceRef) -> dict[str, Any]:
        """Start the standby (again, should something have stopped it); `running` once it runs, with
        whether it must catch up with the last checkpoint first."""
        instance = self._load(ref, InstanceStatus.WAKING)
        standby = _standby_of(instance)
        try:
            machine = self.machines.get(str(standby.machine_id))
            if machine.state == CpuMachineState.STOPPED:
                self.machines.start(machine.machine_id)
        except CpuMachineError as error:
            raise StandbyLost(error.message) from None
        if machine.state == CpuMachineState.GONE:
            raise StandbyLost(f"the CPU standby {machine.machine_id} is gone")
        if machine.state != CpuMachineState.RUNNING:
            since = instance.failing_over_since or instance.updated_at
            if (self.clock() - since).total_seconds() > self.cpu_settings.cpu_standby_boot_timeout_seconds:
                raise StandbyLost(f"the CPU standby {machine.machine_id} did not start in time")
            return {"state": "pending", "needs_sync": False, "snapshot_id": None}
        self._finish(
            instance,
            [InstanceStatus.WAKING],
            {"standby": standby.model_copy(update={"ip_address": machine.ip_address or standby.ip_address})},
            [],
        )
        snapshot_id = instance.last_snapshot_id
        return {
            "state": "running",
            "needs_sync": snapshot_id is not None and snapshot_id != standby.synced_snapshot_id,
            "snapshot_id": snapshot_id,
        }

    def activate_standby(self, ref: InstanceRef) -> dict[str, Any]:
        """The instance runs on the standby: its address and SSH are the standby's from now."""
        instance = self._load(ref, InstanceStatus.WAKING)
        standby = _standby_of(instance)
        now = self.clock()
        active = standby.model_copy(
            update={
                "state": "active",
                "active_since": now,
                "synced_snapshot_id": instance.last_snapshot_id,
                "synced_at": now,
                "cost_per_hour": self.machines.cost_per_hour,
            }
        )
        self._finish(
            instance,
            [InstanceStatus.WAKING],
            {
                "standby": active,
                "ip_address": standby.ip_address,
                "ssh_port": STANDBY_SSH_PORT,
                "jupyter_port": None,
                "status_reason": "running on its CPU standby while a GPU is rented",
            },
            [],
        )
        return {"ip_address": standby.ip_address}

    def check_gpu_boot(self, ref: InstanceRef, machine_id: str) -> dict[str, Any]:
        """Is the new GPU running yet? The instance stays on the standby until its workspace is there."""
        instance = self._load(ref, InstanceStatus.WAKING)
        machine = self.provider.get_machine(machine_id)
        if machine.status == ProviderMachineStatus.RUNNING:
            return {"state": "running"}
        if machine.status == ProviderMachineStatus.FAILED:
            raise MachineFailed(f"The new GPU failed while booting: {machine.status_message or 'no reason'}")
        since = _standby_of(instance).active_since or instance.updated_at
        if (self.clock() - since).total_seconds() > self.settings.boot_timeout_seconds:
            raise BootTimedOut(f"The new GPU was not running after {self.settings.boot_timeout_seconds} s")
        return {"state": "pending"}

    def begin_standby_snapshot(self, ref: InstanceRef) -> dict[str, Any]:
        """The snapshot of the standby's workspace that goes onto the GPU (taken by its agent next)."""
        instance = self._load(ref, InstanceStatus.WAKING)
        snapshot = self.snapshots.begin_checkpoint(instance)
        return {"snapshot_id": snapshot.snapshot_id, "compression": snapshot.compression}

    def record_standby_snapshot(self, ref: InstanceRef, snapshot_id: str) -> dict[str, Any]:
        """The standby's workspace is safe in `snapshot_id`: whatever happens next comes back from it."""
        instance = self._load(ref, InstanceStatus.WAKING)
        now = self.clock()
        standby = _standby_of(instance).model_copy(
            update={"synced_snapshot_id": snapshot_id, "synced_at": now}
        )
        self._finish(
            instance,
            [InstanceStatus.WAKING],
            {"last_snapshot_id": snapshot_id, "last_snapshot_at": now, "standby": standby},
            [],
        )
        return {}

    def switch_back(self, ref: InstanceRef) -> dict[str, Any]:
        """The GPU holds the workspace: the instance runs there again, and the standby is stopped."""
        instance = self._load(ref, InstanceStatus.WAKING)
        standby = _standby_of(instance)
        machine = self.provider.get_machine(self._machine_id(instance))
        now = self.clock()
        taken_over_at = standby.active_since or now
        began = instance.failing_over_since or taken_over_at
        completed = InstanceEvent.of(
            EventType.FAILOVER_COMPLETED,
            instance,
            strategy=STRATEGY,
            recovered_after_seconds=round((taken_over_at - began).total_seconds(), 1),
            back_on_gpu_after_seconds=round((now - began).total_seconds(), 1),
            ip=machine.ip_address,
        )
        waiting = standby.model_copy(
            update={
                "state": "ready",
                "active_since": None,
                "cost_per_hour": self.machines.stopped_cost_per_hour(instance.disk_gb),
            }
        )
        self._finish(
            instance,
            [InstanceStatus.WAKING],
            {
                **machine_fields(machine),
                "status": InstanceStatus.RUNNING,
                "status_reason": None,
                "running_since": now,
                "failing_over_since": None,
                "last_failover_at": now,
                "hibernated_at": None,
                "standby": waiting,
            },
            [completed],
        )
        self._stop_standby(standby, instance.disk_gb)
        return {}

    def fail(
        self, ref: InstanceRef, failure: dict[str, Any] | None, snapshot_id: str | None
    ) -> dict[str, Any]:
        """Give back the GPU rented, stop the standby, and let the snapshot path bring the instance back."""
        instance = self._load_if(ref, InstanceStatus.WAKING)
        if instance is None:
            return {}  # deleted meanwhile: the reconciler and the pass over the standbys clean up
        reason = failure_reason(failure)
        if snapshot_id is not None and snapshot_id != instance.last_snapshot_id:
            self.snapshots.fail_snapshot(instance.team_id, snapshot_id, f"the CPU failover failed: {reason}")
        left = self._release_or_leave(instance)
        standby = self._stop_standby(_standby_of(instance), instance.disk_gb) if instance.standby else None
        failed = InstanceEvent.of(EventType.FAILOVER_FAILED, instance, strategy=STRATEGY, reason=reason)
        try:
            interrupted = self.instances.transition(
                instance,
                expected=[InstanceStatus.WAKING],
                changes={
                    "status": InstanceStatus.INTERRUPTED,
                    "status_reason": with_note(f"the CPU failover failed: {reason}", left),
                    "provider_instance_id": None,
                    "failing_over_since": None,
                    "running_since": None,
                    "standby": standby,
                    **MACHINE_GONE,
                },
                events=[failed],
            )
        except StaleInstanceState:
            return {}
        self.fallback.recover(interrupted)
        return {}

    def _stop_standby(self, standby: Standby, disk_gb: int) -> Standby | None:
        """Stop the standby to wait for the next failure; None when it is gone."""
        stopped = standby.model_copy(
            update={
                "state": "ready",
                "active_since": None,
                "cost_per_hour": self.machines.stopped_cost_per_hour(disk_gb),
            }
        )
        try:
            machine = self.machines.get(str(standby.machine_id))
            if machine.state == CpuMachineState.GONE:
                return None
            if machine.state in (CpuMachineState.PENDING, CpuMachineState.RUNNING):
                self.machines.stop(machine.machine_id)
        except CpuMachineError as error:
            # Housekeeping stops a ready standby it finds running.
            logger.warning("Could not stop the CPU standby yet", extra={"why": error.message})
        return stopped


def _standby_of(instance: Instance) -> Standby:
    standby = instance.standby
    if standby is None or standby.kind != "cpu" or standby.machine_id is None:
        raise StandbyLost(f"{instance.instance_id} has no CPU standby")
    return standby
