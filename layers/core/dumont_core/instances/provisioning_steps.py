"""Renting a machine for an instance (or for a hibernated one waking up), and destroying it."""

from __future__ import annotations

import shlex
from typing import Any

from aws_lambda_powertools import Logger

from dumont_core.instances.agent_tokens import agent_token_digest, new_agent_token
from dumont_core.instances.charges import cost_accumulated_at
from dumont_core.instances.models import (
    MACHINE_GONE,
    EventType,
    Instance,
    InstanceEvent,
    InstanceStatus,
    StaleInstanceState,
)
from dumont_core.instances.quotes import bid_for, matching_offers
from dumont_core.instances.step_support import (
    BootTimedOut,
    InstanceNoLongerWanted,
    InstanceRef,
    MachineFailed,
    NoOfferAvailable,
    StepSupport,
    failure_reason,
    left_to_reconciler,
    machine_fields,
    with_note,
)
from dumont_core.platform.settings import ProviderSettings
from dumont_core.providers.catalog import find_gpu_type
from dumont_core.providers.models import ProviderMachineStatus

logger = Logger(child=True)

AGENT_WORKSPACE = "/workspace"
# The markers of the agent's block in authorized_keys (dumont_agent.ssh_keys), which it replaces whole.
AUTHORIZED_KEYS_BEGIN = "# >>> dumont: keys of the instance (managed; edits inside are replaced)"
AUTHORIZED_KEYS_END = "# <<< dumont"
AGENT_LOG = "/var/log/dumont-agent.log"


def authorized_keys_command(instance: Instance, home: str = "~") -> str | None:
    """The shell line that writes the instance's keys in the block the agent manages later
    (dumont_agent.ssh_keys): the keys work before it starts, and one it removes is really gone."""
    keys = [key.public_key for key in instance.ssh_keys]
    if not keys:
        return None
    block = "\n".join([AUTHORIZED_KEYS_BEGIN, *keys, AUTHORIZED_KEYS_END])
    return (
        f"mkdir -p {home}/.ssh && chmod 700 {home}/.ssh && printf '%s\\n' {shlex.quote(block)} "
        f">> {home}/.ssh/authorized_keys && chmod 600 {home}/.ssh/authorized_keys"
    )


def onstart_script(instance: Instance, agent_token: str | None, settings: ProviderSettings) -> str | None:
    """What the machine runs on first boot: authorise the user's SSH key, then install and start our
    agent, which reports in with the instance's own token."""
    lines = []
    keys_command = authorized_keys_command(instance)
    if keys_command:
        lines.append(keys_command)
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


class ProvisioningSteps(StepSupport):
    def choose_offers(self, ref: InstanceRef, *, waking: bool = False) -> dict[str, Any]:
        instance = self._load(ref, _renting_status(waking))
        if find_gpu_type(instance.gpu_type) is None:
            raise NoOfferAvailable(f"{instance.gpu_type} is not a GPU type we rent")
        settings = self.settings
        matching = matching_offers(self.provider, instance, settings)
        if not matching:
            where = f" in {instance.requested_region}" if instance.requested_region else ""
            raise NoOfferAvailable(
                f"No {instance.gpu_type} offer{where} with {instance.disk_gb} GB disk and host "
                f"reliability of at least {settings.min_host_reliability:.2f}"
                + (f" at {settings.max_price_per_hour:g} $/h or less" if settings.max_price_per_hour else "")
                + " is available right now"
            )
        candidates = [
            {
                "offer_id": offer.offer_id,
                "bid_per_hour": bid_for(offer, settings),
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
            self._destroy_labelled(instance, keep=instance.provider_instance_id)
            return {"provider_instance_id": instance.provider_instance_id}
        agent_token = new_agent_token(instance.team_id, instance.instance_id)
        onstart = onstart_script(instance, agent_token, self.settings)
        machine_id, candidate = self._rent_first_offer(instance, candidates, onstart)
        self._record_rented(instance, machine_id, candidate, agent_token_digest(agent_token))
        # A create that timed out or failed after the provider had acted, then retried, may have
        # rented a second machine under our label: only the recorded one stays.
        self._destroy_labelled(instance, keep=machine_id)
        return {"provider_instance_id": machine_id}

    def _record_rented(
        self, instance: Instance, machine_id: str, candidate: dict[str, Any], token_digest: str
    ) -> None:
        price = candidate.get("bid_per_hour") or candidate.get("price_per_hour")
        try:
            self.instances.transition(
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
                },
            )
        except StaleInstanceState:
            # Deleted while we were renting: nobody else knows this machine, so it goes now (or, if
            # the provider will not destroy it yet, with the reconciler's next passes).
            self._destroy_or_leave(instance, machine_id)
            raise InstanceNoLongerWanted(instance.instance_id) from None
        except Exception:
            # The step fails and is retried; the retry's label sweep finds this machine if it stays.
            self._destroy_or_leave(instance, machine_id)
            raise

    def check_boot(self, ref: InstanceRef, machine_id: str, *, waking: bool = False) -> dict[str, str]:
        instance = self._load(ref, _renting_status(waking))
        machine = self.provider.get_machine(machine_id)
        now = self.clock()
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
        if (now - booting_since).total_seconds() > self.settings.boot_timeout_seconds:
            raise BootTimedOut(f"The machine was not running after {self.settings.boot_timeout_seconds} s")
        return {"state": "pending"}

    def fail_provisioning(self, ref: InstanceRef, failure: dict[str, Any] | None) -> dict[str, Any]:
        instance = self.instances.find(ref.team_id, ref.instance_id)
        if instance is None:
            return {"destroyed": None}
        # A machine the provider will not destroy now, the instance no longer holds: the reconciler
        # finds it under the instance's label and destroys it once the provider lets it.
        left = self._release_or_leave(instance)
        reason = failure_reason(failure)
        if instance.status == InstanceStatus.STARTING:
            self._finish(
                instance,
                [InstanceStatus.STARTING],
                {
                    "status": InstanceStatus.FAILED,
                    "status_reason": with_note(reason, left),
                    "provider_instance_id": None,
                    **MACHINE_GONE,
                },
                [InstanceEvent.of(EventType.FAILED, instance, reason=reason)],
            )
        return {"destroyed": instance.provider_instance_id}

    def destroy_machine(self, ref: InstanceRef) -> dict[str, Any]:
        instance = self._load(ref, InstanceStatus.DELETING)
        # Raises on provider errors: the workflow retries, then leaves the machine to the reconciler.
        self._release(instance)
        return {"final_cost": self._deleted(instance, status_reason=None)}

    def fail_destroy(self, ref: InstanceRef, failure: dict[str, Any] | None) -> dict[str, Any]:
        """The provider would not destroy the machine, however often asked: the instance is deleted as
        its user asked, and the reconciler destroys the machine as soon as the provider lets it."""
        instance = self._load_if(ref, InstanceStatus.DELETING)
        if instance is None:
            return {}
        note = left_to_reconciler(instance.provider_instance_id, failure_reason(failure))
        return {"final_cost": self._deleted(instance, status_reason=note)}

    def _deleted(self, instance: Instance, *, status_reason: str | None) -> float:
        now = self.clock()
        billing = instance.billing_stopped_at(now)
        final_cost = cost_accumulated_at(instance.model_copy(update=billing), now, self.margin)
        self._finish(
            instance,
            [InstanceStatus.DELETING],
            {"status": InstanceStatus.DELETED, "status_reason": status_reason, **billing, **MACHINE_GONE},
            [InstanceEvent.of(EventType.DELETED, instance, final_cost=final_cost)],
        )
        if self.hibernations is not None and instance.hibernated_at is not None:
            self.hibernations.deleted(instance, now)  # the hibernation ends here: it saves nothing more
        return final_cost
