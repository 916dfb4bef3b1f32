"""Noticing that a running instance's machine died: outbid, its host gone, or unreachable.

Two signals are read on every look: the provider's own account of the machine (failed while we want it
running, or no longer listed) and, for an instance with failover on, the agent's heartbeats (none for
more than two of the intervals it was told, though the provider may still say running: a network
partition). A single look never interrupts anything. The first look that sees a signal marks the
instance suspected; a later look, at least `confirm_seconds` after (for silence,
`silence_confirm_seconds`, so that a silence already two intervals long goes on for a pass more), that
still sees it, and a fresh read of that one machine at the provider, confirm it. Only then is the
instance interrupted: billed until the machine was last known alive, its machine destroyed (and, since
it no longer holds it, destroyed by the reconciler should it come back), and `instance.interrupted`
published. A signal gone before confirmation clears the suspicion.

An instance with failover on is also prepared for at the first look that suspects it: a CPU standby
starts booting then, so that it is up about when the death is confirmed.

A look also checks the instance's ready standby (failover's warm pool), if it has one: a standby that
died is dropped, and housekeeping rents another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aws_lambda_powertools import Logger

from dumont_core.instances.heartbeats import silence_limit
from dumont_core.instances.models import Instance, InstanceStatus, InterruptionReason, StaleInstanceState
from dumont_core.instances.service import InstanceService
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.models import DomainModel
from dumont_core.providers.models import (
    GpuProvider,
    ProviderError,
    ProviderMachine,
    ProviderMachineNotFound,
    ProviderMachineStatus,
)

logger = Logger(child=True)

_PREEMPTION_WORDS = ("outbid", "preempt", "interrupt", "reclaim")


class Recovery(Protocol):
    """Whoever brings an interrupted instance with failover on back on a new machine (the snapshots
    domain, from the last snapshot)."""

    def recover(self, instance: Instance) -> Instance | None:
        """Start bringing `instance` back; the instance as it is then, or None when it cannot be."""
        ...

    def prepare(self, instance: Instance) -> None:
        """`instance`'s machine looks dead, not yet confirmed: get ready to bring it back, in a way that
        costs little should the machine live after all."""
        ...


class DeathSignal(DomainModel):
    reason: InterruptionReason
    detail: str
    died_at: datetime
    """When the machine was last known alive: its last heartbeat, or when it first looked dead."""
    silent: bool = False
    """Whether only the agent's silence says so (the provider says the machine runs)."""


def death_signal(
    instance: Instance, machine: ProviderMachine | None, now: datetime, heartbeat_seconds: float
) -> DeathSignal | None:
    """What says the running instance's machine is dead, from the provider's view of it (None when the
    provider no longer has it) and the instance's last heartbeat; None when nothing does.
    `heartbeat_seconds` is the agents' interval for an instance whose agent was never told one."""
    heard = instance.last_heartbeat_at
    silence = silence_limit(instance, heartbeat_seconds)
    # Its last heartbeat, if the agent was reporting until then; else when it was first seen dead.
    last_alive = instance.suspected_at or now
    if heard is not None and (last_alive - heard).total_seconds() <= silence:
        last_alive = heard
    machine_id = instance.provider_instance_id
    if machine is None:
        detail = f"the provider no longer has machine {machine_id}"
        return DeathSignal(reason=InterruptionReason.MACHINE_LOST, detail=detail, died_at=last_alive)
    if machine.status == ProviderMachineStatus.FAILED:
        said = machine.status_message or "no reason given"
        preempted = any(word in said.lower() for word in _PREEMPTION_WORDS)
        reason = InterruptionReason.SPOT_PREEMPTION if preempted else InterruptionReason.HOST_OFFLINE
        return DeathSignal(reason=reason, detail=f"machine {machine_id}: {said}", died_at=last_alive)
    # Heartbeats count from the agent's first report since the machine last (re)started: starting,
    # rebooting and waking forget the one before (`HEARTBEAT_RESET`). Silence alone moves only an
    # instance with failover on: a crashed agent looks the same as a partition, and without failover
    # interrupting would destroy a machine that may still be doing its user's work.
    listened_to = instance.failover_enabled and instance.agent_token_digest is not None
    if machine.status == ProviderMachineStatus.RUNNING and listened_to and heard is not None:
        silent = (now - heard).total_seconds()
        if silent > silence:
            detail = f"no heartbeat from machine {machine_id} for {silent:.0f} s"
            return DeathSignal(
                reason=InterruptionReason.MACHINE_LOST, detail=detail, died_at=heard, silent=True
            )
    return None


def _beat_since_suspected(instance: Instance, signal: DeathSignal) -> bool:
    """Whether a silence is not the one suspected: the agent beat in between."""
    heard, suspected = instance.last_heartbeat_at, instance.suspected_at
    return signal.silent and heard is not None and suspected is not None and heard > suspected


@dataclass(frozen=True, kw_only=True)
class InterruptionWatch:
    instances: InstanceService
    provider: GpuProvider
    heartbeat_seconds: float
    confirm_seconds: float
    silence_confirm_seconds: float | None = None
    """How long silence alone must last once seen; `confirm_seconds` when unset."""
    recovery: Recovery | None = None
    clock: Clock = field(default=utc_now)

    def look(self, machines: list[ProviderMachine]) -> list[str]:
        """One look at every running instance against the provider's list of `machines`; the ids of the
        instances interrupted by it."""
        listed = {machine.provider_instance_id: machine for machine in machines}
        interrupted = []
        for instance in self.instances.running():
            if instance.provider_instance_id is None:
                continue
            try:
                self._look_at_standby(instance, listed)
                if self._look_at(instance, listed.get(instance.provider_instance_id)):
                    interrupted.append(instance.instance_id)
            except StaleInstanceState:
                continue  # it moved on meanwhile (stopped, deleted): whoever moved it owns it
        return interrupted

    def _look_at(self, instance: Instance, machine: ProviderMachine | None) -> bool:
        now = self.clock()
        signal = death_signal(instance, machine, now, self.heartbeat_seconds)
        if signal is None:
            if instance.suspected_at is not None:
                self.instances.clear_suspicion(instance)
            return False
        if _beat_since_suspected(instance, signal):
            # It beat after it was suspected: this is a new silence, suspected from now.
            self.instances.suspect(instance, now)
            return False
        if instance.suspected_at is None:
            logger.info(
                "A machine looks dead", extra={"instance_id": instance.instance_id, "why": signal.detail}
            )
            suspected = self.instances.suspect(instance, now)
            if suspected.failover_enabled and self.recovery is not None:
                self.recovery.prepare(suspected)
            return False
        if (now - instance.suspected_at).total_seconds() < self._confirm_window(signal):
            return False
        try:
            confirmed = self._confirmed(instance, now)
        except ProviderError:
            return False  # the provider cannot say right now: the next look asks again
        if confirmed is None:
            self.instances.clear_suspicion(instance)
            return False
        self._interrupt(instance, confirmed)
        return True

    def _confirm_window(self, signal: DeathSignal) -> float:
        """How long a signal must last before it is confirmed: silence was already two of the agent's
        intervals long when first seen, so it needs less than the provider's word."""
        if signal.silent and self.silence_confirm_seconds is not None:
            return self.silence_confirm_seconds
        return self.confirm_seconds

    def _look_at_standby(self, instance: Instance, listed: dict[str, ProviderMachine]) -> None:
        """A ready standby (failover's warm pool) that died or vanished is dropped and destroyed, once a
        fresh read of it agrees: housekeeping then rents another."""
        standby = instance.standby
        if standby is None or standby.state != "ready" or standby.machine_id is None:
            return
        if standby.kind != "gpu":
            return  # a CPU standby is no machine of the GPU provider's: housekeeping looks after it
        seen = listed.get(standby.machine_id)
        if seen is not None and seen.status != ProviderMachineStatus.FAILED:
            return
        try:
            machine: ProviderMachine | None = self.provider.get_machine(standby.machine_id)
        except ProviderMachineNotFound:
            machine = None
        except ProviderError:
            return  # the provider cannot say right now: the next look asks again
        if machine is not None and machine.status != ProviderMachineStatus.FAILED:
            return
        logger.warning(
            "A standby died", extra={"instance_id": instance.instance_id, "machine_id": standby.machine_id}
        )
        self.instances.transition(
            instance, expected=[InstanceStatus.RUNNING], changes={"standby": None}, standby_was=standby
        )
        if machine is not None:
            self._destroy(standby.machine_id)

    def _confirmed(self, instance: Instance, now: datetime) -> DeathSignal | None:
        """The signal once more, from a fresh read of the machine itself rather than the list."""
        machine_id = instance.provider_instance_id
        assert machine_id is not None
        try:
            machine: ProviderMachine | None = self.provider.get_machine(machine_id)
        except ProviderMachineNotFound:
            machine = None
        return death_signal(instance, machine, now, self.heartbeat_seconds)

    def _interrupt(self, instance: Instance, signal: DeathSignal) -> None:
        machine_id = instance.provider_instance_id
        logger.warning(
            "Instance interrupted",
            extra={"instance_id": instance.instance_id, "reason": signal.reason.value, "why": signal.detail},
        )
        interrupted = self.instances.interrupt(instance, signal.reason, signal.detail, signal.died_at)
        if machine_id is not None:
            self._destroy(machine_id)
        if interrupted.failover_enabled and self.recovery is not None:
            self.recovery.recover(interrupted)

    def _destroy(self, machine_id: str) -> None:
        try:
            self.provider.destroy_machine(machine_id)
        except ProviderError as error:
            # It is no longer the instance's: the reconciler's next pass destroys it.
            logger.warning(
                "Could not destroy a dead machine yet", extra={"machine_id": machine_id, "why": error.message}
            )
