"""Setting failover up, reading where it stands, and drilling it on a healthy instance.

A drill takes the path of a real failure: `failover.triggered`, the instance interrupted (reason
`drill`), then brought back from its last snapshot. The API cannot reach the provider, so the machine
it lets go of is destroyed by the reconciler's next pass, as any machine no instance holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dumont_core.failover.models import DEFAULT_CHECKPOINT_MINUTES, FailoverStatus, status_of
from dumont_core.failover.paths import FailoverRecovery
from dumont_core.instances.models import (
    EventType,
    FailoverStrategy,
    InstanceEvent,
    InstanceStatus,
    InterruptionReason,
    StaleInstanceState,
)
from dumont_core.instances.service import InstanceService
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import Conflict, InvalidState
from dumont_core.platform.identity import Principal


@dataclass(frozen=True, kw_only=True)
class FailoverService:
    instances: InstanceService
    recovery: FailoverRecovery
    clock: Clock = field(default=utc_now)

    def status(self, principal: Principal, instance_id: str) -> FailoverStatus:
        instance = self.instances.get(principal, instance_id)
        return status_of(instance, self.instances.timeline_of(instance), self.clock())

    def configure(
        self,
        principal: Principal,
        instance_id: str,
        *,
        enabled: bool,
        strategy: FailoverStrategy | None,
        checkpoint_interval_minutes: float | None,
    ) -> FailoverStatus:
        instance = self.instances.get(principal, instance_id)
        changes: dict[str, object] = {"failover_enabled": enabled}
        if enabled:
            changes["failover_strategy"] = strategy or instance.failover_strategy or FailoverStrategy.SNAPSHOT
            changes["checkpoint_interval_minutes"] = (
                checkpoint_interval_minutes
                or instance.checkpoint_interval_minutes
                or DEFAULT_CHECKPOINT_MINUTES
            )
        try:
            configured = self.instances.configure(instance, changes)
        except StaleInstanceState:
            raise InvalidState(instance_id, "configure failover", "deleted", ["any but deleted"]) from None
        if instance.failover_enabled and (
            not configured.failover_enabled or configured.failover_strategy != instance.failover_strategy
        ):
            # The standby the old strategy kept goes back now; the new one's is made by housekeeping.
            self.recovery.release(configured, instance.failover_strategy)
        return status_of(configured, [], self.clock())

    def trigger(self, principal: Principal, instance_id: str) -> FailoverStatus:
        """A drill: the running instance is interrupted on purpose and fails over as on a real failure."""
        instance = self.instances.get(principal, instance_id)
        if not instance.failover_enabled:
            raise Conflict(
                f"Failover is off for {instance_id}; turn it on with POST /api/v1/failover/configure first",
                details={"instance_id": instance_id},
            )
        if instance.status != InstanceStatus.RUNNING:
            raise InvalidState(instance_id, "trigger a failover", instance.status.value, ["running"])
        if instance.last_snapshot_id is None:
            # The drill gives the machine up: without a snapshot, its workspace would go with it.
            raise Conflict(
                f"{instance_id} has no completed snapshot to fail over to; take one first "
                "(POST /api/v1/snapshots)",
                details={"instance_id": instance_id},
            )
        triggered = InstanceEvent.of(
            EventType.FAILOVER_TRIGGERED, instance, requested_by=principal.account_id
        )
        now = self.clock()
        try:
            interrupted = self.instances.interrupt(
                instance, InterruptionReason.DRILL, "failover drill requested", now, first=[triggered]
            )
        except StaleInstanceState:
            current = self.instances.get(principal, instance_id)
            raise InvalidState(instance_id, "trigger a failover", current.status.value, ["running"]) from None
        recovering = self.recovery.recover(interrupted)
        return status_of(recovering or interrupted, [], now)
