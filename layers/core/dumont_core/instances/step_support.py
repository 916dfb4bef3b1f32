"""What every step of the instance workflows shares (ASL files in `infra/statemachines/`).

Each step reads the instance, talks to the provider, and records the outcome with a conditional
write. A step that finds the instance no longer in the state it works on raises
InstanceNoLongerWanted, and the workflow ends quietly: whoever changed the instance owns it now.
Exception class names are the ASL error names the state machines catch and retry on.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from dumont_core.instances.machine_labels import machine_label
from dumont_core.instances.models import (
    EventType,
    Instance,
    InstanceEvent,
    InstanceStatus,
    StaleInstanceState,
)
from dumont_core.instances.service import InstanceService
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.models import DomainModel
from dumont_core.platform.settings import ProviderSettings
from dumont_core.providers.models import (
    GpuProvider,
    MachineRequest,
    OfferUnavailable,
    ProviderError,
    ProviderMachine,
    ProviderMachineNotFound,
)

logger = Logger(child=True)


class WorkflowStepError(Exception):
    """A step's failure that the workflow handles by name."""


class InstanceNoLongerWanted(WorkflowStepError):
    pass


class NoOfferAvailable(WorkflowStepError):
    pass


class BootTimedOut(WorkflowStepError):
    pass


class MachineFailed(WorkflowStepError):
    pass


class PowerActionTimedOut(WorkflowStepError):
    pass


class InstanceRef(DomainModel):
    team_id: str
    instance_id: str


class HibernationLog(Protocol):
    """Whoever keeps the record of hibernations (serverless mode's history of what they saved)."""

    def hibernated(self, instance: Instance) -> None:
        """`instance` has just hibernated: its machine is gone, its workspace is in `last_snapshot_id`."""

    def woke(self, instance: Instance, woke_at: datetime) -> None:
        """`instance`, hibernated since its `hibernated_at`, runs again."""

    def deleted(self, instance: Instance, deleted_at: datetime) -> None:
        """`instance`, hibernated since its `hibernated_at`, was deleted without waking."""


def failure_reason(failure: dict[str, Any] | None) -> str:
    """A person-readable reason from a Step Functions Catch result `{"Error", "Cause"}`."""
    if not failure:
        return "unknown failure"
    error = str(failure.get("Error") or "Error")
    cause = failure.get("Cause")
    message: str | None = None
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
            message = parsed.get("errorMessage") if isinstance(parsed, dict) else None
        except json.JSONDecodeError:
            message = cause
    return f"{error}: {message}" if message else error


def machine_fields(machine: ProviderMachine) -> dict[str, Any]:
    """What we keep on the instance of what the provider reports about its machine."""
    fields: dict[str, Any] = {
        "ip_address": machine.ip_address,
        "ssh_port": machine.ssh_port,
        "jupyter_port": machine.jupyter_port,
        "ssh_host": machine.ssh_host,
        "jupyter_url": machine.jupyter_url,
    }
    if machine.price_per_hour is not None:
        fields["cost_per_hour"] = round(machine.price_per_hour, 4)
    if machine.gpu_memory_gb is not None:
        fields["gpu_memory_gb"] = machine.gpu_memory_gb
    if machine.reliability is not None:
        fields["host_reliability"] = machine.reliability
    if machine.gpu_name is not None:
        fields["gpu_name"] = machine.gpu_name
    return fields


@dataclass(frozen=True, kw_only=True)
class StepSupport:
    instances: InstanceService
    """Every change of an instance goes through its service, with its events."""
    provider: GpuProvider
    settings: ProviderSettings
    hibernations: HibernationLog | None = None
    margin: float = 0.0
    """The platform's margin on machines (`PLATFORM_MARGIN`), in the final cost a deletion reports."""
    clock: Clock = utc_now

    def _load(self, ref: InstanceRef, expected: InstanceStatus) -> Instance:
        instance = self.instances.find(ref.team_id, ref.instance_id)
        if instance is None or instance.status != expected:
            state = instance.status.value if instance else "missing"
            raise InstanceNoLongerWanted(f"{ref.instance_id} is {state}, not {expected.value}")
        return instance

    def _load_if(self, ref: InstanceRef, expected: InstanceStatus) -> Instance | None:
        """The instance if it is still `expected`; a failure path finding it moved on has nothing to do."""
        instance = self.instances.find(ref.team_id, ref.instance_id)
        return instance if instance is not None and instance.status == expected else None

    @staticmethod
    def _machine_id(instance: Instance) -> str:
        if not instance.provider_instance_id:
            raise MachineFailed(f"{instance.instance_id} has no machine at the provider")
        return instance.provider_instance_id

    def _record_running(
        self,
        instance: Instance,
        machine: ProviderMachine,
        now: datetime,
        event_types: list[EventType],
        *,
        keep_billing: bool = False,
    ) -> None:
        running_since = instance.running_since if keep_billing and instance.running_since else now
        changes = {
            "status": InstanceStatus.RUNNING,
            "status_reason": None,
            **machine_fields(machine),
            "running_since": running_since,
        }
        events = self._running_events(instance, event_types, machine.ip_address, machine.ssh_port)
        self._finish(instance, [instance.status], changes, events)

    @staticmethod
    def _running_events(
        instance: Instance, event_types: list[EventType], ip: str | None, ssh_port: int | None
    ) -> list[InstanceEvent]:
        """The events of an instance (re)starting on a machine reachable at `ip` and `ssh_port`."""
        return [
            InstanceEvent.of(
                event_type,
                instance,
                gpu_type=instance.gpu_type,
                region=instance.region,
                ip=ip,
                ssh_port=ssh_port,
            )
            for event_type in event_types
        ]

    def _finish(
        self,
        instance: Instance,
        expected: list[InstanceStatus],
        changes: dict[str, Any],
        events: list[InstanceEvent],
    ) -> Instance:
        try:
            return self.instances.transition(instance, expected=expected, changes=changes, events=events)
        except StaleInstanceState:
            raise InstanceNoLongerWanted(instance.instance_id) from None

    def _label(self, instance: Instance) -> str:
        return machine_label(self.settings.machine_label_prefix, instance.team_id, instance.instance_id)

    def _release(self, instance: Instance) -> None:
        """Destroy the instance's machine, and any other rented under its label. Raises when the
        provider fails, so the workflow tries again."""
        if instance.provider_instance_id:
            self._destroy(instance.provider_instance_id)
        self._destroy_labelled(instance)

    def _release_or_leave(self, instance: Instance) -> str | None:
        """Destroy what was rented for the instance, as `_release` does; when the provider will not,
        even after the client's retries, the reconciler destroys it later: what to tell the user then."""
        try:
            self._release(instance)
        except ProviderError as error:
            return self._left_to_reconciler(instance, instance.provider_instance_id, error)
        return None

    def _destroy_or_leave(self, instance: Instance, machine_id: str) -> None:
        """Destroy a machine rented for an instance that no longer wants it; when the provider will not,
        leave it to the reconciler and say so on the instance."""
        try:
            self._destroy(machine_id)
        except ProviderError as error:
            note = self._left_to_reconciler(instance, machine_id, error)
            current = self.instances.find(instance.team_id, instance.instance_id)
            if current is not None:
                with contextlib.suppress(StaleInstanceState):
                    self.instances.transition(
                        current, expected=[current.status], changes={"status_reason": note}
                    )

    def _rent_first_offer(
        self,
        instance: Instance,
        candidates: list[dict[str, Any]],
        onstart_script: str | None,
        *,
        what: str = "matching offers",
    ) -> tuple[str, dict[str, Any]]:
        """Rent the first of `candidates` still offered, for the instance's image, disk and label, at the
        candidate's bid if it has one (else on demand): the machine's id and the candidate rented. An
        offer taken meanwhile is skipped; NoOfferAvailable once every one of them was."""
        for candidate in candidates:
            try:
                machine_id = self.provider.create_machine(
                    MachineRequest(
                        offer_id=int(candidate["offer_id"]),
                        image=instance.image,
                        disk_gb=instance.disk_gb,
                        label=self._label(instance),
                        onstart_script=onstart_script,
                        bid_per_hour=candidate.get("bid_per_hour"),
                    )
                )
            except OfferUnavailable as gone:
                logger.info("Offer gone, trying the next", extra={"offer": candidate, "reason": gone.message})
                continue
            return machine_id, candidate
        raise NoOfferAvailable(f"All {len(candidates)} {what} were taken before we could rent one")

    def _destroy(self, machine_id: str) -> None:
        with contextlib.suppress(ProviderMachineNotFound):
            self.provider.destroy_machine(machine_id)

    def _destroy_labelled(self, instance: Instance, *, keep: str | None = None) -> None:
        for machine_id in self.provider.machine_ids_labelled(self._label(instance)):
            if machine_id != keep:
                logger.warning(
                    "Destroying a machine rented for us but never recorded", extra={"machine_id": machine_id}
                )
                self._destroy(machine_id)

    @staticmethod
    def _left_to_reconciler(instance: Instance, machine_id: str | None, error: ProviderError) -> str:
        logger.warning(
            "The provider would not destroy a machine; the reconciler will",
            extra={"instance_id": instance.instance_id, "machine_id": machine_id, "reason": error.message},
        )
        return left_to_reconciler(machine_id, error.code)


def left_to_reconciler(machine_id: str | None, reason: str) -> str:
    """What a status reason tells of a machine the provider would not destroy."""
    machine = f"machine {machine_id}" if machine_id else "a machine rented for it"
    return f"the provider did not destroy {machine} yet ({reason}); it will be destroyed automatically"


def with_note(reason: str, note: str | None) -> str:
    """A status reason with what the user should also know, when there is something."""
    return f"{reason}; {note}" if note else reason
