"""The steps of the instance workflows (ASL files in `infra/statemachines/`).

Each step reads the instance, talks to the provider, and records the outcome with a conditional
write. A step that finds the instance no longer in the state it works on raises
InstanceNoLongerWanted, and the workflow ends quietly: whoever changed the instance owns it now.
Exception class names are the ASL error names the state machines catch and retry on.
"""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from dumont_core.agents.tokens import agent_token_digest, new_agent_token
from dumont_core.catalog import find_gpu_type
from dumont_core.data.instances import InstanceRepository, StaleInstanceState
from dumont_core.data.serverless import ServerlessRepository
from dumont_core.events import EventPublisher
from dumont_core.models import (
    POWER_ACTIONS,
    EventType,
    Instance,
    InstanceEvent,
    InstanceStatus,
    PowerAction,
    utc_now,
)
from dumont_core.providers.base import (
    GpuProvider,
    OfferUnavailable,
    ProviderError,
    ProviderMachine,
    ProviderMachineNotFound,
    ProviderMachineStatus,
)
from dumont_core.settings import Settings

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


@dataclass(frozen=True)
class InstanceRef:
    team_id: str
    instance_id: str

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> InstanceRef:
        return cls(team_id=payload["team_id"], instance_id=payload["instance_id"])


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


AGENT_WORKSPACE = "/workspace"
AGENT_LOG = "/var/log/dumont-agent.log"


def onstart_script(instance: Instance, agent_token: str | None, settings: Settings) -> str | None:
    """What the machine runs on first boot: authorise the user's SSH key, then install and start our
    agent, which reports in with the instance's own token."""
    lines = []
    if instance.ssh_key:
        key = shlex.quote(instance.ssh_key)
        lines.append(f"mkdir -p ~/.ssh && chmod 700 ~/.ssh && echo {key} >> ~/.ssh/authorized_keys")
    if agent_token and settings.public_api_url:
        environment = " ".join(
            f"{name}={shlex.quote(value)}"
            for name, value in (
                ("DUMONT_API_URL", settings.public_api_url),
                ("DUMONT_AGENT_TOKEN", agent_token),
                ("DUMONT_INSTANCE_ID", instance.instance_id),
                ("DUMONT_WORKSPACE", AGENT_WORKSPACE),
            )
        )
        lines.append(f"python3 -m pip install --quiet {shlex.quote(settings.agent_package)}")
        lines.append(f"{environment} nohup dumont-agent >> {AGENT_LOG} 2>&1 &")
    return "\n".join(lines) + "\n" if lines else None


def _renting_status(waking: bool) -> InstanceStatus:
    return InstanceStatus.WAKING if waking else InstanceStatus.STARTING


def machine_fields(machine: ProviderMachine) -> dict[str, Any]:
    """What we keep on the instance of what the provider reports about its machine."""
    fields: dict[str, Any] = {
        "ip_address": machine.ip_address,
        "ssh_port": machine.ssh_port,
        "jupyter_port": machine.jupyter_port,
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


class InstanceWorkflowSteps:
    def __init__(
        self,
        repository: InstanceRepository,
        publisher: EventPublisher,
        provider: GpuProvider,
        settings: Settings,
        clock: Callable[[], datetime] = utc_now,
        hibernations: ServerlessRepository | None = None,
    ) -> None:
        self._repository = repository
        self._publisher = publisher
        self._provider = provider
        self._settings = settings
        self._clock = clock
        self._hibernations = hibernations

    # Provisioning ------------------------------------------------------------------------------

    def choose_offers(self, ref: InstanceRef, *, waking: bool = False) -> dict[str, Any]:
        instance = self._load(ref, _renting_status(waking))
        gpu = find_gpu_type(instance.gpu_type)
        if gpu is None:
            raise NoOfferAvailable(f"{instance.gpu_type} is not a GPU type we rent")
        settings = self._settings
        offers = self._provider.search_offers(
            gpu_names=gpu.provider_names,
            min_reliability=settings.min_host_reliability,
            min_disk_gb=instance.disk_gb,
            limit=settings.offers_to_try * 10,
        )
        matching = [
            offer
            for offer in offers
            if offer.num_gpus >= instance.num_gpus
            and (instance.requested_region is None or offer.region == instance.requested_region)
        ]
        if not matching:
            where = f" in {instance.requested_region}" if instance.requested_region else ""
            raise NoOfferAvailable(
                f"No {instance.gpu_type} offer{where} with {instance.disk_gb} GB disk and host "
                f"reliability of at least {settings.min_host_reliability:.2f} is available right now"
            )
        candidates = [
            {
                "offer_id": offer.offer_id,
                "bid_per_hour": round(offer.min_bid_per_hour * (1 + settings.spot_bid_margin), 4)
                if offer.min_bid_per_hour is not None
                else None,
                "price_per_hour": offer.price_per_hour,
                "region": offer.region,
                "gpu_name": offer.gpu_name,
                "gpu_memory_gb": offer.gpu_memory_gb,
                "reliability": offer.reliability,
            }
            for offer in matching[: settings.offers_to_try]
        ]
        return {"candidates": candidates}

    def rent_machine(
        self, ref: InstanceRef, candidates: list[dict[str, Any]], *, waking: bool = False
    ) -> dict[str, Any]:
        instance = self._load(ref, _renting_status(waking))
        if instance.provider_instance_id:
            # A retry of this step after it had recorded its machine: keep that one, rent no other.
            self._destroy_labelled(instance.instance_id, keep=instance.provider_instance_id)
            return {"provider_instance_id": instance.provider_instance_id}
        agent_token = new_agent_token(instance.team_id, instance.instance_id)
        for candidate in candidates:
            try:
                machine_id = self._provider.create_machine(
                    offer_id=int(candidate["offer_id"]),
                    image=instance.image,
                    disk_gb=instance.disk_gb,
                    label=instance.instance_id,
                    onstart_script=onstart_script(instance, agent_token, self._settings),
                    bid_per_hour=candidate.get("bid_per_hour"),
                )
            except OfferUnavailable as gone:
                logger.info("Offer gone, trying the next", extra={"offer": candidate, "reason": gone.message})
                continue
            self._record_rented(instance, machine_id, candidate, agent_token_digest(agent_token))
            # A create that timed out or failed after the provider had acted, then retried, may
            # have rented a second machine under our label: only the recorded one stays.
            self._destroy_labelled(instance.instance_id, keep=machine_id)
            return {"provider_instance_id": machine_id}
        raise NoOfferAvailable(f"All {len(candidates)} matching offers were taken before we could rent one")

    def _record_rented(
        self, instance: Instance, machine_id: str, candidate: dict[str, Any], token_digest: str
    ) -> None:
        price = candidate.get("bid_per_hour") or candidate.get("price_per_hour")
        try:
            self._repository.transition(
                instance,
                expected=[instance.status],
                changes={
                    "provider_instance_id": machine_id,
                    "offer_id": int(candidate["offer_id"]),
                    "region": candidate.get("region") or instance.requested_region,
                    "gpu_name": candidate.get("gpu_name"),
                    "gpu_memory_gb": candidate.get("gpu_memory_gb"),
                    "host_reliability": candidate.get("reliability"),
                    "cost_per_hour": price,
                    "agent_token_digest": token_digest,
                    "updated_at": self._clock(),
                },
            )
        except StaleInstanceState:
            # Deleted while we were renting: nobody else knows this machine, so it goes now.
            self._destroy_quietly(machine_id)
            raise InstanceNoLongerWanted(instance.instance_id) from None
        except Exception:
            self._destroy_quietly(machine_id)
            raise

    def check_boot(self, ref: InstanceRef, machine_id: str, *, waking: bool = False) -> dict[str, str]:
        instance = self._load(ref, _renting_status(waking))
        machine = self._provider.get_machine(machine_id)
        now = self._clock()
        if machine.status == ProviderMachineStatus.RUNNING and waking:
            # Billed from now; the instance runs again once its workspace is restored.
            self._finish(
                instance, [InstanceStatus.WAKING], {**machine_fields(machine), "running_since": now}, []
            )
            return {"state": "running"}
        if machine.status == ProviderMachineStatus.RUNNING:
            self._record_running(instance, machine, now, [EventType.STARTED, EventType.READY])
            return {"state": "running"}
        if machine.status == ProviderMachineStatus.FAILED:
            raise MachineFailed(
                f"The machine failed while booting: {machine.status_message or 'no reason given'}"
            )
        # A waking instance has been rented, and last changed, when its machine was.
        booting_since = instance.updated_at if waking else instance.created_at
        if (now - booting_since).total_seconds() > self._settings.boot_timeout_seconds:
            raise BootTimedOut(f"The machine was not running after {self._settings.boot_timeout_seconds} s")
        return {"state": "pending"}

    def fail_provisioning(self, ref: InstanceRef, failure: dict[str, Any] | None) -> dict[str, Any]:
        instance = self._repository.get(ref.team_id, ref.instance_id)
        if instance is None:
            return {"destroyed": None}
        # Raises on transient provider errors so the workflow retries: no orphan is left, not even
        # a machine whose creation answer was lost before it could be recorded.
        if instance.provider_instance_id:
            self._destroy(instance.provider_instance_id)
        self._destroy_labelled(instance.instance_id)
        reason = failure_reason(failure)
        if instance.status == InstanceStatus.STARTING:
            self._finish(
                instance,
                [InstanceStatus.STARTING],
                {"status": InstanceStatus.FAILED, "status_reason": reason, **self._machine_gone()},
                [InstanceEvent.of(EventType.FAILED, instance, reason=reason)],
            )
        return {"destroyed": instance.provider_instance_id}

    # Start, stop, reboot -----------------------------------------------------------------------

    def request_power_action(self, ref: InstanceRef, action: PowerAction) -> dict[str, Any]:
        _, interim, _ = POWER_ACTIONS[action]
        instance = self._load(ref, interim)
        machine_id = self._machine_id(instance)
        if action == PowerAction.START:
            self._provider.start_machine(machine_id)
        elif action == PowerAction.STOP:
            self._provider.stop_machine(machine_id)
        else:
            self._provider.reboot_machine(machine_id)
        return {"requested_at": self._clock().isoformat()}

    def check_power_action(self, ref: InstanceRef, action: PowerAction) -> dict[str, str]:
        _, interim, target = POWER_ACTIONS[action]
        instance = self._load(ref, interim)
        machine = self._provider.get_machine(self._machine_id(instance))
        now = self._clock()
        if machine.status == ProviderMachineStatus.FAILED:
            raise MachineFailed(f"The machine failed: {machine.status_message or 'no reason given'}")
        reached = (target == InstanceStatus.RUNNING and machine.status == ProviderMachineStatus.RUNNING) or (
            target == InstanceStatus.STOPPED and machine.status == ProviderMachineStatus.STOPPED
        )
        if reached:
            event = {
                PowerAction.START: EventType.STARTED,
                PowerAction.STOP: EventType.STOPPED,
                PowerAction.REBOOT: EventType.REBOOTED,
            }[action]
            if target == InstanceStatus.RUNNING:
                self._record_running(
                    instance, machine, now, [event], keep_billing=action == PowerAction.REBOOT
                )
            else:
                self._finish(
                    instance,
                    [interim],
                    {
                        "status": InstanceStatus.STOPPED,
                        "status_reason": None,
                        **self._stop_billing(instance, now),
                    },
                    [InstanceEvent.of(event, instance)],
                )
            return {"state": "done"}
        if (now - instance.updated_at).total_seconds() > self._settings.power_action_timeout_seconds:
            raise PowerActionTimedOut(
                f"The provider did not {action.value} the machine within "
                f"{self._settings.power_action_timeout_seconds} s"
            )
        return {"state": "pending"}

    def fail_power_action(
        self, ref: InstanceRef, action: PowerAction, failure: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Put the instance in the state its machine is really in, and say what went wrong."""
        _, interim, _ = POWER_ACTIONS[action]
        instance = self._repository.get(ref.team_id, ref.instance_id)
        if instance is None or instance.status != interim:
            return {"status": instance.status.value if instance else None}
        reason = failure_reason(failure)
        now = self._clock()
        status, changes = self._reconcile(instance, now)
        self._finish(
            instance,
            [interim],
            {"status": status, "status_reason": f"{action.value} failed: {reason}", **changes},
            [InstanceEvent.of(EventType.ACTION_FAILED, instance, action=action.value, reason=reason)],
        )
        return {"status": status.value}

    def _reconcile(self, instance: Instance, now: datetime) -> tuple[InstanceStatus, dict[str, Any]]:
        try:
            machine = self._provider.get_machine(self._machine_id(instance))
        except ProviderMachineNotFound:
            return InstanceStatus.FAILED, {**self._stop_billing(instance, now), **self._machine_gone()}
        except ProviderError as error:
            if error.transient:
                raise  # the workflow retries this step; the machine may well be running
            return InstanceStatus.FAILED, self._stop_billing(instance, now)
        if machine.status == ProviderMachineStatus.RUNNING:
            running_since = instance.running_since or now
            return InstanceStatus.RUNNING, {**machine_fields(machine), "running_since": running_since}
        if machine.status == ProviderMachineStatus.STOPPED:
            return InstanceStatus.STOPPED, self._stop_billing(instance, now)
        return InstanceStatus.FAILED, self._stop_billing(instance, now)

    # Hibernation and waking ------------------------------------------------------------------

    def complete_hibernation(self, ref: InstanceRef, snapshot_id: str, reason: str) -> dict[str, Any]:
        """The snapshot is complete and verified: destroy the machine; nothing is billed from now."""
        instance = self._load(ref, InstanceStatus.HIBERNATING)
        if instance.provider_instance_id:
            self._destroy(instance.provider_instance_id)
        self._destroy_labelled(instance.instance_id)
        now = self._clock()
        savings_per_hour = round(instance.cost_per_hour or 0.0, 4)
        self._finish(
            instance,
            [InstanceStatus.HIBERNATING],
            {
                "status": InstanceStatus.HIBERNATED,
                "status_reason": reason,
                "provider_instance_id": None,
                "hibernated_at": now,
                "last_snapshot_id": snapshot_id,
                **self._stop_billing(instance, now),
                **self._machine_gone(),
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
        if self._hibernations is not None:
            self._hibernations.record_hibernation(
                instance.team_id, instance.instance_id, now, reason, savings_per_hour, snapshot_id
            )
        return {"savings_per_hour": savings_per_hour}

    def abort_hibernation(
        self, ref: InstanceRef, snapshot_id: str | None, failure: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The snapshot failed: the machine was never touched and runs on."""
        instance = self._repository.get(ref.team_id, ref.instance_id)
        if instance is None or instance.status != InstanceStatus.HIBERNATING:
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
        instance = self._repository.get(ref.team_id, ref.instance_id)
        if instance is None:
            return {}
        event = InstanceEvent.of(
            EventType.ACTION_FAILED,
            instance,
            action="restore",
            snapshot_id=snapshot_id,
            reason=failure_reason(failure),
        )
        self._repository.add_event(event)
        self._publisher.publish([event])
        return {}

    def finish_wake(self, ref: InstanceRef) -> dict[str, Any]:
        instance = self._load(ref, InstanceStatus.WAKING)
        events = [
            InstanceEvent.of(
                event_type,
                instance,
                gpu_type=instance.gpu_type,
                region=instance.region,
                ip=instance.ip_address,
                ssh_port=instance.ssh_port,
            )
            for event_type in (EventType.STARTED, EventType.READY)
        ]
        self._finish(
            instance,
            [InstanceStatus.WAKING],
            {"status": InstanceStatus.RUNNING, "status_reason": None, "hibernated_at": None},
            events,
        )
        if self._hibernations is not None and instance.hibernated_at is not None:
            self._hibernations.record_wake(
                instance.team_id, instance.instance_id, instance.hibernated_at, self._clock()
            )
        return {}

    def fail_wake(self, ref: InstanceRef, failure: dict[str, Any] | None) -> dict[str, Any]:
        """Waking failed: give back what was rented; the workspace stays safe in its snapshot."""
        instance = self._repository.get(ref.team_id, ref.instance_id)
        if instance is None or instance.status != InstanceStatus.WAKING:
            return {}
        if instance.provider_instance_id:
            self._destroy(instance.provider_instance_id)
        self._destroy_labelled(instance.instance_id)
        reason = failure_reason(failure)
        now = self._clock()
        self._finish(
            instance,
            [InstanceStatus.WAKING],
            {
                "status": InstanceStatus.HIBERNATED,
                "status_reason": f"wake failed: {reason}",
                "provider_instance_id": None,
                **self._stop_billing(instance, now),
                **self._machine_gone(),
            },
            [InstanceEvent.of(EventType.ACTION_FAILED, instance, action="wake", reason=reason)],
        )
        return {}

    # Destroy -----------------------------------------------------------------------------------

    def destroy_machine(self, ref: InstanceRef) -> dict[str, Any]:
        instance = self._load(ref, InstanceStatus.DELETING)
        if instance.provider_instance_id:
            self._destroy(instance.provider_instance_id)
        self._destroy_labelled(instance.instance_id)
        now = self._clock()
        billing = self._stop_billing(instance, now)
        final_cost = instance.model_copy(update=billing).cost_accumulated_at(now)
        self._finish(
            instance,
            [InstanceStatus.DELETING],
            {"status": InstanceStatus.DELETED, "status_reason": None, **billing, **self._machine_gone()},
            [InstanceEvent.of(EventType.DELETED, instance, final_cost=final_cost)],
        )
        return {"final_cost": final_cost}

    def fail_destroy(self, ref: InstanceRef, failure: dict[str, Any] | None) -> dict[str, Any]:
        instance = self._repository.get(ref.team_id, ref.instance_id)
        if instance is None or instance.status != InstanceStatus.DELETING:
            return {}
        reason = failure_reason(failure)
        self._finish(
            instance,
            [InstanceStatus.DELETING],
            {"status": InstanceStatus.FAILED, "status_reason": f"delete failed: {reason}"},
            [InstanceEvent.of(EventType.ACTION_FAILED, instance, action="delete", reason=reason)],
        )
        return {}

    # Shared ------------------------------------------------------------------------------------

    def _load(self, ref: InstanceRef, expected: InstanceStatus) -> Instance:
        instance = self._repository.get(ref.team_id, ref.instance_id)
        if instance is None or instance.status != expected:
            state = instance.status.value if instance else "missing"
            raise InstanceNoLongerWanted(f"{ref.instance_id} is {state}, not {expected.value}")
        return instance

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
        region = instance.region
        events = [
            InstanceEvent.of(
                event_type,
                instance,
                gpu_type=instance.gpu_type,
                region=region,
                ip=machine.ip_address,
                ssh_port=machine.ssh_port,
            )
            for event_type in event_types
        ]
        self._finish(instance, [instance.status], changes, events)

    @staticmethod
    def _stop_billing(instance: Instance, now: datetime) -> dict[str, Any]:
        return instance.billing_stopped_at(now)

    @staticmethod
    def _machine_gone() -> dict[str, Any]:
        return {"ip_address": None, "ssh_port": None, "jupyter_port": None}

    def _finish(
        self,
        instance: Instance,
        expected: list[InstanceStatus],
        changes: dict[str, Any],
        events: list[InstanceEvent],
    ) -> None:
        try:
            self._repository.transition(
                instance, expected=expected, changes={**changes, "updated_at": self._clock()}, events=events
            )
        except StaleInstanceState:
            raise InstanceNoLongerWanted(instance.instance_id) from None
        self._publisher.publish(events)

    def _destroy(self, machine_id: str) -> None:
        with contextlib.suppress(ProviderMachineNotFound):
            self._provider.destroy_machine(machine_id)

    def _destroy_labelled(self, instance_id: str, *, keep: str | None = None) -> None:
        for machine_id in self._provider.machine_ids_labelled(instance_id):
            if machine_id != keep:
                logger.warning(
                    "Destroying a machine rented for us but never recorded", extra={"machine_id": machine_id}
                )
                self._destroy(machine_id)

    def _destroy_quietly(self, machine_id: str) -> None:
        try:
            self._destroy(machine_id)
        except ProviderError:
            logger.exception("Could not destroy a machine nobody owns", extra={"machine_id": machine_id})
