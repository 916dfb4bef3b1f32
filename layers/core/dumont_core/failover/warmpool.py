"""The `warmpool` strategy: a stopped GPU of the instance's type on another host, holding its image and
its last checkpoint, started and switched onto when the instance's machine dies.

What it keeps (`keep_ready`, every housekeeping run): one standby per running instance, rented once the
instance has a checkpoint, by the `warmpool_standby` workflow (rent, boot, restore the checkpoint
through the standby's own agent, stop). A stopped machine is billed for its disk alone. A standby that
dies is dropped by the interruption watch, and one that took over leaves the instance with none: either
way the next run rents another.

How it comes back (`recover`): the `warmpool_failover` workflow starts the standby, restores the latest
checkpoint onto it (the agent fetches only the chunks its workspace lacks) and switches the instance
onto it. Without a ready standby, or when the workflow cannot be started, this path returns None and
the snapshot's path takes over; a standby that fails midway is given back and the workflow goes on
with the snapshot's steps.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field

from aws_lambda_powertools import Logger

from dumont_core.instances.models import (
    DELETABLE_STATES,
    HEARTBEAT_RESET,
    EventType,
    FailoverStrategy,
    Instance,
    InstanceEvent,
    InstanceStatus,
    StaleInstanceState,
    Standby,
)
from dumont_core.instances.service import InstanceService
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import InvalidState, ServiceUnavailable
from dumont_core.platform.workflows import Workflow, WorkflowStarter, workflow_payload

logger = Logger(child=True)

STRATEGY = FailoverStrategy.WARMPOOL.value


@dataclass(frozen=True, kw_only=True)
class WarmPoolPath:
    instances: InstanceService
    workflows: WorkflowStarter
    clock: Clock = field(default=utc_now)

    def prepare(self, instance: Instance) -> None:
        """Nothing: starting the standby early would bill GPU time for every false alarm, and it is up
        within a minute of the death as it is."""

    def keep_ready(self, instance: Instance) -> None:
        """Rent a standby for a running instance that has none, once it has a checkpoint to hold."""
        if instance.status != InstanceStatus.RUNNING or instance.standby is not None:
            return  # one is being rented, synced, or is ready; a dead one is dropped by the watch
        if instance.last_snapshot_id is None:
            return  # nothing to hold yet: the first checkpoint comes first
        # A standby is rented and booted to sync like a new machine: the team must pay an hour of it.
        action = f"keep a standby for instance {instance.instance_id}"
        self.instances.ensure_affordable(instance, action, new_machine=True)
        standby = Standby(kind="gpu", provider=instance.provider, state="renting", since=self.clock())
        try:
            renting = self.instances.transition(
                instance, expected=[InstanceStatus.RUNNING], changes={"standby": standby}, standby_was=None
            )
        except StaleInstanceState:
            return  # it stopped running, or another run is renting one
        payload = workflow_payload(
            instance.team_id, instance.instance_id, snapshot={"snapshot_id": instance.last_snapshot_id}
        )
        execution = f"{instance.instance_id}-standby-{secrets.token_hex(4)}"
        try:
            self.workflows.start(Workflow.WARMPOOL_STANDBY, execution, payload)
        except Exception as error:
            logger.exception("Could not start renting a standby", extra={"instance_id": instance.instance_id})
            with contextlib.suppress(StaleInstanceState):
                self.instances.transition(
                    renting, expected=DELETABLE_STATES, changes={"standby": None}, standby_was=standby
                )
            raise ServiceUnavailable(
                "The standby could not be rented now; the next run tries again"
            ) from error

    def recover(self, instance: Instance) -> Instance | None:
        """Start the ready standby and switch the interrupted instance onto it; None without one."""
        standby = instance.standby
        if standby is None or standby.state != "ready" or standby.machine_id is None:
            if standby is not None:
                # Not ready to take over: the record goes, so its machine is given back (the snapshot
                # path's renting sweeps the instance's label; the reconciler, whatever is left).
                self._drop(instance, standby)
            return None
        if instance.last_snapshot_id is None:
            return None
        now = self.clock()
        taking_over = standby.model_copy(update={"state": "taking_over"})
        started = InstanceEvent.of(
            EventType.FAILOVER_STARTED,
            instance,
            strategy=STRATEGY,
            snapshot_id=instance.last_snapshot_id,
        )
        try:
            waking = self.instances.transition(
                instance,
                expected=[instance.status],
                changes={
                    "status": InstanceStatus.WAKING,
                    "status_reason": None,
                    "provider_instance_id": None,
                    "failing_over_since": now,
                    "standby": taking_over,
                    **HEARTBEAT_RESET,
                },
                events=[started],
                standby_was=standby,
            )
        except StaleInstanceState:
            raise InvalidState(
                instance.instance_id, "fail over", "changed meanwhile", [instance.status.value]
            ) from None
        payload = workflow_payload(
            instance.team_id,
            instance.instance_id,
            snapshot={"snapshot_id": instance.last_snapshot_id},
            machine={"provider_instance_id": standby.machine_id},
        )
        execution = f"{instance.instance_id}-warmpool-{secrets.token_hex(4)}"
        try:
            self.workflows.start(Workflow.WARMPOOL_FAILOVER, execution, payload)
        except Exception:
            logger.exception(
                "Could not start the standby's takeover", extra={"instance_id": instance.instance_id}
            )
            self._undo(waking, instance, taking_over)
            return None
        return waking

    def release(self, instance: Instance) -> None:
        """The instance no longer wants a warm standby: the record goes now, and with it the machine
        (the reconciler destroys what the instance no longer holds; the API cannot reach the provider)."""
        if instance.standby is not None:
            self._drop(instance, instance.standby)

    def _drop(self, instance: Instance, standby: Standby) -> None:
        with contextlib.suppress(StaleInstanceState):
            self.instances.transition(
                instance, expected=DELETABLE_STATES, changes={"standby": None}, standby_was=standby
            )

    def _undo(self, waking: Instance, interrupted: Instance, taking_over: Standby) -> None:
        """The takeover never started: back to interrupted, failed for this strategy, and the standby
        dropped (its machine given back) so that the snapshot's path rents afresh."""
        failed = InstanceEvent.of(
            EventType.FAILOVER_FAILED,
            waking,
            strategy=STRATEGY,
            reason="the standby's takeover could not be started",
        )
        with contextlib.suppress(StaleInstanceState):
            self.instances.transition(
                waking,
                expected=[InstanceStatus.WAKING],
                changes={
                    "status": interrupted.status,
                    "status_reason": interrupted.status_reason,
                    "failing_over_since": None,
                    "standby": None,
                },
                events=[failed],
                standby_was=taking_over,
            )
