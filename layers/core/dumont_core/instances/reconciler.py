"""The reconciler: on a schedule, every machine the provider rents under this deployment's labels is
held up against the record of its instance, and what nobody owns any more is destroyed.

Workflows destroy what they rent, but a workflow can lose a race (a delete while a throttled rent is
still retrying) or outlast the provider's patience; then they leave the machine here and say so on the
instance. A machine is an orphan when its instance is unknown or deleted, or when the instance does
not hold it and is not renting right now. Each pass destroys its orphans, and the next pass tries
again whatever the provider refused: the provider client backs off within a pass, the schedule spaces
the passes, and nothing stops until the provider no longer lists the machine.

The same pass is where the interruption watch (`instances.interruptions`) looks at every running
instance, from the same list of machines, before the orphans are collected: a machine it finds dead is
no longer its instance's, and is destroyed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aws_lambda_powertools import Logger

from dumont_core.instances.interruptions import InterruptionWatch
from dumont_core.instances.machine_labels import MachineOwner, owner_of
from dumont_core.instances.models import RENTING_STATES, Instance, InstanceStatus
from dumont_core.instances.service import InstanceService
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.models import DomainModel
from dumont_core.platform.settings import ProviderSettings
from dumont_core.providers.models import GpuProvider, ProviderError, ProviderMachine, ProviderMachineNotFound

logger = Logger(child=True)


class MachineSighting(DomainModel):
    """A machine the provider rents under one of our labels, and the record of its instance."""

    machine: ProviderMachine
    owner: MachineOwner
    instance: Instance | None
    """None when no instance of that id exists in that team."""

    @property
    def orphaned_because(self) -> str | None:
        """Why nobody owns the machine any more, or None when its instance does."""
        instance = self.instance
        if instance is None:
            return "its instance is unknown"
        if instance.status == InstanceStatus.DELETED:
            return "its instance is deleted"
        if instance.provider_instance_id == self.machine.provider_instance_id:
            return None
        standby = instance.standby
        if standby is not None and standby.provider == instance.provider:
            if standby.machine_id == self.machine.provider_instance_id:
                return None  # kept ready to take over (failover's warm pool)
            if standby.machine_id is None:
                return None  # the standby being rented: recorded in a moment
        if instance.status in RENTING_STATES:
            return None  # recorded in a moment, or swept by the renting step itself
        return f"its instance is {instance.status.value} without it"


class ReconcileReport(DomainModel):
    sighted: int
    """Machines under our labels."""
    destroyed: list[str] = []
    """Orphans destroyed in this pass."""
    left: list[str] = []
    """Orphans the provider would not destroy yet: the next pass tries again."""
    interrupted: list[str] = []
    """Running instances whose machine was found dead, and which are interrupted now."""


@dataclass(frozen=True, kw_only=True)
class MachineReconciler:
    instances: InstanceService
    provider: GpuProvider
    settings: ProviderSettings
    watch: InterruptionWatch | None = None
    clock: Clock = field(default=utc_now)

    def reconcile(self) -> ReconcileReport:
        machines = self.provider.list_machines()
        interrupted = self.watch.look(machines) if self.watch is not None else []
        sightings = self.sight_machines(machines)
        destroyed: list[str] = []
        left: list[str] = []
        for sighting in sightings:
            reason = sighting.orphaned_because
            if reason is None:
                continue
            machine_id = sighting.machine.provider_instance_id
            try:
                if self._destroy_orphan(sighting, reason):
                    destroyed.append(machine_id)
            except ProviderError as error:
                logger.warning(
                    "The provider would not destroy an orphan yet; the next pass tries again",
                    extra={"machine_id": machine_id, "reason": error.message},
                )
                left.append(machine_id)
        return ReconcileReport(
            sighted=len(sightings), destroyed=destroyed, left=left, interrupted=interrupted
        )

    def sight_machines(self, machines: list[ProviderMachine]) -> list[MachineSighting]:
        """Every machine of the provider's list rented under this deployment's labels, with its instance's
        record (one key read each), read after the list: a record is never older than what it is
        compared with."""
        prefix = self.settings.machine_label_prefix
        sightings = []
        for machine in machines:
            owner = owner_of(machine.label, prefix)
            if owner is None:
                continue
            instance = self.instances.find(owner.team_id, owner.instance_id)
            sightings.append(MachineSighting(machine=machine, owner=owner, instance=instance))
        return sightings

    def _destroy_orphan(self, sighting: MachineSighting, reason: str) -> bool:
        """Destroy the orphan; False when it was already gone (a workflow got there first)."""
        machine_id = sighting.machine.provider_instance_id
        try:
            self.provider.get_machine(machine_id)
        except ProviderMachineNotFound:
            return False
        self.provider.destroy_machine(machine_id)
        lived_seconds, cost = _lifetime(sighting.machine, self.clock())
        logger.warning(
            "Destroyed an orphaned machine",
            extra={"machine_id": machine_id, "instance_id": sighting.owner.instance_id, "reason": reason},
        )
        self.instances.record_orphan_destroyed(
            sighting.owner.team_id,
            sighting.owner.instance_id,
            machine_id=machine_id,
            reason=reason,
            lived_seconds=lived_seconds,
            cost=cost,
        )
        return True


def _lifetime(machine: ProviderMachine, now: datetime) -> tuple[int | None, float | None]:
    """How long the machine lived, and what it cost at its price, when the provider says."""
    if machine.started_at is None:
        return None, None
    seconds = max(0, int((now - machine.started_at).total_seconds()))
    if machine.price_per_hour is None:
        return seconds, None
    return seconds, round(machine.price_per_hour * seconds / 3600, 4)
