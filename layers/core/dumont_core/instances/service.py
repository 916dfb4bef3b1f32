"""What users and the other domains ask of instances. Each change a user asks for is recorded, then
carried out by a workflow; every change of an instance is written here, with its events."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from aws_lambda_powertools import Logger

from dumont_core.instances.metrics import HeartbeatRefused, MetricsRepository, downsample
from dumont_core.instances.models import (
    DEFAULT_CHECKPOINT_MINUTES,
    DEFAULT_GPU_THRESHOLD,
    DEFAULT_IDLE_TIMEOUT_MINUTES,
    DELETABLE_STATES,
    HEARTBEAT_RESET,
    MACHINE_GONE,
    POWER_ACTIONS,
    EventType,
    Instance,
    InstanceEvent,
    InstancePage,
    InstanceSpec,
    InstanceStatus,
    InterruptionReason,
    MetricPoint,
    PowerAction,
    StaleInstanceState,
    Standby,
)
from dumont_core.instances.ports import IdleWatch, Meter, Quotes, UptimeTally
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.ssh_keys import AccountKeys, SshKey, first_keys
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import InstanceNotFound, InvalidState, ServiceUnavailable, Unauthenticated
from dumont_core.platform.events import EventPublisher
from dumont_core.platform.identity import Principal
from dumont_core.platform.workflows import Workflow, WorkflowStarter, workflow_payload

logger = Logger(child=True)

# Chart periods: how far back, how wide a point, and whether read from hourly rollups.
METRIC_PERIODS: dict[str, tuple[timedelta, timedelta, bool]] = {
    "1h": (timedelta(hours=1), timedelta(minutes=1), False),
    "24h": (timedelta(hours=24), timedelta(minutes=15), False),
    "7d": (timedelta(days=7), timedelta(hours=1), True),
    "30d": (timedelta(days=30), timedelta(hours=6), True),
}


UNKNOWN_ACCOUNT = "unknown"
"""The account of an event about an instance of which no record exists."""


def new_instance_id() -> str:
    return f"inst_{secrets.token_hex(8)}"


@dataclass(frozen=True, kw_only=True)
class InstanceService:
    repository: InstanceRepository
    readings: MetricsRepository
    publisher: EventPublisher
    workflows: WorkflowStarter
    idle_watch: IdleWatch | None = None
    meter: Meter | None = None
    quotes: Quotes | None = None
    uptime: UptimeTally | None = None
    account_keys: AccountKeys | None = None
    clock: Clock = utc_now

    # What users ask -----------------------------------------------------------------------------

    def create(self, principal: Principal, spec: InstanceSpec) -> Instance:
        now = self.clock()
        instance = Instance(
            instance_id=new_instance_id(),
            account_id=principal.account_id,
            team_id=principal.team_id,
            name=spec.name,
            gpu_type=spec.gpu_type,
            num_gpus=spec.num_gpus,
            requested_region=spec.region,
            region=spec.region,
            image=spec.image,
            disk_gb=spec.disk_gb,
            ssh_key=spec.ssh_key,
            ssh_keys=first_keys(spec.ssh_key, principal.account_id, self.account_keys, now),
            failover_enabled=spec.failover_enabled,
            failover_strategy=spec.failover_strategy if spec.failover_enabled else None,
            checkpoint_interval_minutes=DEFAULT_CHECKPOINT_MINUTES if spec.failover_enabled else None,
            auto_hibernate=spec.auto_hibernate,
            idle_timeout_minutes=DEFAULT_IDLE_TIMEOUT_MINUTES if spec.auto_hibernate else None,
            idle_gpu_threshold=DEFAULT_GPU_THRESHOLD if spec.auto_hibernate else None,
            status=InstanceStatus.STARTING,
            created_at=now,
            updated_at=now,
        )
        self.ensure_affordable(instance, "create an instance", new_machine=True)
        created = InstanceEvent.of(
            EventType.CREATED,
            instance,
            gpu_type=instance.gpu_type,
            region=instance.region,
            image=instance.image,
        )
        self.repository.create(instance, created)
        self.publisher.publish([created])
        if instance.auto_hibernate and self.idle_watch is not None:
            self.idle_watch.watch(instance.team_id, instance.instance_id)
        try:
            self.workflows.start(
                Workflow.PROVISION,
                f"{instance.instance_id}-provision",
                workflow_payload(instance.team_id, instance.instance_id),
            )
        except Exception as error:
            logger.exception("Could not start provisioning", extra={"instance_id": instance.instance_id})
            self._fail_unstarted(instance, "provisioning could not be started")
            raise ServiceUnavailable("Provisioning could not be started; please try again") from error
        return instance

    def get(self, principal: Principal, instance_id: str) -> Instance:
        """The caller's team's instance; InstanceNotFound for any other: teams never learn of each other's."""
        instance = self.repository.get(principal.team_id, instance_id)
        if instance is None:
            raise InstanceNotFound(instance_id)
        return instance

    def list_page(
        self,
        principal: Principal,
        *,
        status: InstanceStatus | None,
        gpu_type: str | None,
        page: int,
        per_page: int,
    ) -> InstancePage:
        instances = self.repository.list_for_team(principal.team_id, status=status, gpu_type=gpu_type)
        start = (page - 1) * per_page
        return InstancePage(
            items=instances[start : start + per_page], page=page, per_page=per_page, total=len(instances)
        )

    def list_all(self, principal: Principal) -> list[Instance]:
        return self.repository.list_for_team(principal.team_id)

    def events(self, principal: Principal, instance_id: str) -> list[InstanceEvent]:
        return self.timeline_of(self.get(principal, instance_id))

    def timeline_of(self, instance: Instance) -> list[InstanceEvent]:
        """The events of an instance the caller already holds."""
        return self.repository.list_events(instance.instance_id)

    def request_power_action(self, principal: Principal, instance_id: str, action: PowerAction) -> Instance:
        allowed, interim, _ = POWER_ACTIONS[action]
        reset = HEARTBEAT_RESET if action in (PowerAction.START, PowerAction.REBOOT) else {}
        return self._begin_change(
            principal, instance_id, action.value, allowed, interim, Workflow(action.value), reset
        )

    def delete(self, principal: Principal, instance_id: str) -> Instance:
        return self._begin_change(
            principal, instance_id, "delete", DELETABLE_STATES, InstanceStatus.DELETING, Workflow.DESTROY
        )

    def metrics(self, principal: Principal, instance_id: str, period: str) -> list[MetricPoint]:
        """The instance's readings over `period`, downsampled to at most a few hundred points."""
        self.get(principal, instance_id)
        span, bucket, hourly = METRIC_PERIODS[period]
        until = self.clock()
        read = self.readings.hourly if hourly else self.readings.samples
        return downsample(read(instance_id, until - span, until), bucket)

    # What the other domains ask -------------------------------------------------------------------

    def find(self, team_id: str, instance_id: str) -> Instance | None:
        return self.repository.get(team_id, instance_id)

    def transition(
        self,
        instance: Instance,
        *,
        expected: Iterable[InstanceStatus],
        changes: Mapping[str, Any],
        events: list[InstanceEvent] | None = None,
        unchanged: bool = False,
        standby_was: Standby | Literal[False] | None = False,
    ) -> Instance:
        """Apply `changes` (updated now) if the instance is still in one of the `expected` states (and
        holds the standby `standby_was`, unless that is False), with its events on the timeline and the
        bus. StaleInstanceState when it moved on meanwhile."""
        events = events or []
        changes = {**changes, "updated_at": self.clock()}
        updated = self.repository.transition(
            instance,
            expected=expected,
            changes=changes,
            events=events,
            unchanged=unchanged,
            standby_was=standby_was,
        )
        if self.uptime is not None:
            self.uptime.record(instance, changes)
        if events:
            self.publisher.publish(events)
        return updated

    def unsettled(self) -> list[tuple[Instance, datetime]]:
        """Every instance whose billing changed (marked in the transaction of the change) since the meter
        last settled it, with when it changed."""
        return self.repository.unsettled()

    def mark_settled(self, instance: Instance, changed_at: datetime) -> None:
        """The meter settled `instance` as read after `changed_at`; a later change keeps it marked."""
        self.repository.settled(instance.team_id, instance.instance_id, changed_at)

    def ensure_affordable(self, instance: Instance, action: str, *, new_machine: bool = False) -> None:
        """InsufficientBalance unless the team pays an hour of its next machine (`Quotes`) or its last one."""
        if self.meter is None:
            return
        quoted = self.quotes.hourly_price(instance) if new_machine and self.quotes is not None else None
        self.meter.ensure_covers(instance.team_id, quoted or instance.cost_per_hour, action)

    def record_event(self, team_id: str, instance_id: str, event_type: EventType, **details: Any) -> None:
        """An event about the instance that changes none of its fields (a snapshot finished); nothing
        when the instance is gone."""
        instance = self.repository.get(team_id, instance_id)
        if instance is not None:
            self._add_event(InstanceEvent.of(event_type, instance, **details))

    def snapshot_completed(self, team_id: str, instance_id: str, *, snapshot_id: str, **details: Any) -> None:
        """A snapshot of the instance is complete: on its timeline, and, while it runs, the one it would
        be woken from should its machine be lost."""
        instance = self.repository.get(team_id, instance_id)
        if instance is None:
            return
        event = InstanceEvent.of(EventType.SNAPSHOT_COMPLETED, instance, snapshot_id=snapshot_id, **details)
        if instance.status == InstanceStatus.RUNNING:
            latest = {"last_snapshot_id": snapshot_id, "last_snapshot_at": self.clock()}
            try:
                self.transition(instance, expected=[InstanceStatus.RUNNING], changes=latest, events=[event])
                return
            except StaleInstanceState:
                pass  # it stopped running meanwhile: the event alone
        self._add_event(event)

    def replace_latest_snapshot(
        self, instance: Instance, snapshot_id: str | None, at: datetime | None
    ) -> None:
        """Its latest snapshot is deleted: woken from `snapshot_id` instead; StaleInstanceState if changed."""
        changes = {"last_snapshot_id": snapshot_id, "last_snapshot_at": at}
        self.transition(instance, expected=[instance.status], changes=changes, unchanged=True)

    def record_orphan_destroyed(self, team_id: str, instance_id: str, **details: Any) -> None:
        """A machine rented for the instance outlived its use and was destroyed: on the instance's
        timeline and the bus, or on the bus alone, for its team, when no record of the instance exists."""
        instance = self.repository.get(team_id, instance_id)
        if instance is not None:
            self._add_event(InstanceEvent.of(EventType.ORPHAN_DESTROYED, instance, **details))
            return
        orphan = InstanceEvent.about(
            EventType.ORPHAN_DESTROYED, instance_id, UNKNOWN_ACCOUNT, team_id, **details
        )
        self.publisher.publish([orphan])

    def running(self) -> list[Instance]:
        """Every running instance of every team (the interruption watch's round)."""
        return self.repository.running()

    def suspect(self, instance: Instance, since: datetime) -> Instance:
        """The running instance's machine looks dead since `since`: an interruption once confirmed."""
        return self.transition(instance, expected=[InstanceStatus.RUNNING], changes={"suspected_at": since})

    def clear_suspicion(self, instance: Instance) -> Instance:
        return self.transition(instance, expected=[InstanceStatus.RUNNING], changes={"suspected_at": None})

    def interrupt(
        self,
        instance: Instance,
        reason: InterruptionReason,
        detail: str,
        died_at: datetime,
        *,
        first: list[InstanceEvent] | None = None,
    ) -> Instance:
        """The running instance lost its machine at `died_at`: billed until then, not since; it no longer
        holds the machine, so the reconciler destroys it should it come back."""
        died_at = max(died_at, instance.running_since) if instance.running_since else died_at
        snapshot_at, now = instance.last_snapshot_at, self.clock()
        event = InstanceEvent.of(
            EventType.INTERRUPTED,
            instance,
            gpu=instance.gpu_name or instance.gpu_type,
            reason=reason.value,
            died_at=died_at.isoformat(),
            detected_after_seconds=round(max((now - died_at).total_seconds(), 0.0), 1),
            # What changed after the last completed snapshot is what a failover loses: counted until the
            # machine was first seen dead, since it may have worked on after its last heartbeat.
            data_window_seconds=(
                round(max(((instance.suspected_at or now) - snapshot_at).total_seconds(), 0.0), 1)
                if snapshot_at
                else None
            ),
        )
        return self.transition(
            instance,
            expected=[InstanceStatus.RUNNING],
            changes={
                "status": InstanceStatus.INTERRUPTED,
                "status_reason": f"interrupted ({reason.value}): {detail}",
                "provider_instance_id": None,
                "suspected_at": None,
                **instance.billing_stopped_at(died_at),
                **MACHINE_GONE,
            },
            events=[*(first or []), event],
        )

    def replace_ssh_keys(self, instance: Instance, keys: list[SshKey]) -> Instance:
        """Keep `keys` as the instance's, if nothing changed it since it was read (StaleInstanceState
        otherwise: read it again and retry), in whatever state but deleted."""
        changes = {"ssh_keys": keys, "ssh_keys_version": instance.ssh_keys_version + 1}
        return self.transition(instance, expected=DELETABLE_STATES, changes=changes, unchanged=True)

    def configure(self, instance: Instance, changes: Mapping[str, Any]) -> Instance:
        """Change settings of the instance that are not its state (failover's), whatever state it is in."""
        return self.transition(instance, expected=DELETABLE_STATES, changes=changes)

    def record_heartbeat(
        self,
        team_id: str,
        instance_id: str,
        reading: Mapping[str, Any],
        interval_seconds: float | None = None,
    ) -> None:
        try:
            self.readings.record_heartbeat(team_id, instance_id, reading, self.clock(), interval_seconds)
        except HeartbeatRefused:
            raise Unauthenticated("This instance no longer runs an agent") from None

    def metric_samples(self, instance_id: str, since: datetime, until: datetime) -> list[MetricPoint]:
        return self.readings.samples(instance_id, since, until)

    # Helpers --------------------------------------------------------------------------------------

    def _begin_change(
        self,
        principal: Principal,
        instance_id: str,
        action: str,
        allowed: frozenset[InstanceStatus],
        interim: InstanceStatus,
        workflow: Workflow,
        also: Mapping[str, Any] | None = None,
    ) -> Instance:
        instance = self.get(principal, instance_id)
        allowed_names = sorted(status.value for status in allowed)
        if instance.status not in allowed:
            raise InvalidState(instance_id, action, instance.status.value, allowed_names)
        if interim == InstanceStatus.STARTING:
            self.ensure_affordable(instance, f"{action} instance {instance_id}")
        try:
            updated = self.transition(
                instance, expected=allowed, changes={"status": interim, "status_reason": None, **(also or {})}
            )
        except StaleInstanceState:
            current = self.get(principal, instance_id)
            raise InvalidState(instance_id, action, current.status.value, allowed_names) from None
        execution = f"{instance_id}-{action}-{secrets.token_hex(4)}"
        try:
            self.workflows.start(workflow, execution, workflow_payload(updated.team_id, updated.instance_id))
        except Exception as error:
            logger.exception("Could not start workflow", extra={"instance_id": instance_id, "action": action})
            with contextlib.suppress(StaleInstanceState):
                self.transition(updated, expected=[updated.status], changes={"status": instance.status})
            raise ServiceUnavailable(
                f"Could not {action} the instance right now; please try again"
            ) from error
        return updated

    def _add_event(self, event: InstanceEvent) -> None:
        self.repository.add_event(event)
        self.publisher.publish([event])

    def _fail_unstarted(self, instance: Instance, reason: str) -> None:
        failed = InstanceEvent.of(EventType.FAILED, instance, reason=reason)
        with contextlib.suppress(StaleInstanceState):
            self.transition(
                instance,
                expected=[InstanceStatus.STARTING],
                changes={"status": InstanceStatus.FAILED, "status_reason": reason},
                events=[failed],
            )
