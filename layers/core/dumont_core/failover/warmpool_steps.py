"""The steps of the warm pool's workflows (`infra/statemachines/warmpool_standby.asl.json` and
`warmpool_failover.asl.json`): rent a standby and make it hold the last checkpoint, then, on failure,
start it and switch the instance onto it.

Each step reads the instance and acts only while it still holds the very standby the workflow works
on: a standby dropped meanwhile (failover turned off, the instance deleted or failed over another way)
is given back by whichever step notices. A machine is never left rented by mistake: the failure paths
destroy the standby they worked on, and what the provider refuses to destroy the instance no longer
holds, so the reconciler destroys it.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from dumont_core.failover.warmpool import STRATEGY
from dumont_core.instances.agent_tokens import agent_token_digest, new_agent_token
from dumont_core.instances.models import (
    DELETABLE_STATES,
    HEARTBEAT_RESET,
    MACHINE_GONE,
    EventType,
    Instance,
    InstanceEvent,
    InstanceStatus,
    StaleInstanceState,
    Standby,
)
from dumont_core.instances.provisioning_steps import onstart_script
from dumont_core.instances.step_support import (
    BootTimedOut,
    InstanceNoLongerWanted,
    InstanceRef,
    MachineFailed,
    NoOfferAvailable,
    StepSupport,
    failure_reason,
    machine_fields,
)
from dumont_core.providers.catalog import find_gpu_type
from dumont_core.providers.models import (
    Offer,
    OfferQuery,
    ProviderError,
    ProviderMachine,
    ProviderMachineNotFound,
    ProviderMachineStatus,
)

logger = Logger(child=True)


def _area(region: str | None) -> str:
    """The part of the world a region is in (`us`, `eu`, `asia`…): regions sharing it are nearby."""
    return (region or "").partition("-")[0]


def standby_offers(instance: Instance, offers: list[Offer], limit: int) -> list[Offer]:
    """Offers for a standby: the instance's GPU type on another host, in its region first, then in
    nearby regions, then anywhere; cheapest first within each."""
    region = instance.region or instance.requested_region
    fitting = [
        offer
        for offer in offers
        if offer.num_gpus >= instance.num_gpus and offer.offer_id != instance.offer_id
    ]

    def nearness(offer: Offer) -> tuple[int, float]:
        if offer.region == region:
            rank = 0
        elif region and _area(offer.region) == _area(region):
            rank = 1
        else:
            rank = 2
        return rank, offer.price_per_hour

    return sorted(fitting, key=nearness)[:limit]


class WarmPoolSteps(StepSupport):
    # Keeping a standby ready ---------------------------------------------------------------------

    def choose_standby_offers(self, ref: InstanceRef) -> dict[str, Any]:
        instance, _ = self._renting(ref)
        gpu = find_gpu_type(instance.gpu_type)
        if gpu is None:
            raise NoOfferAvailable(f"{instance.gpu_type} is not a GPU type we rent")
        offers = self.provider.search_offers(
            OfferQuery(
                gpu_names=gpu.provider_names,
                min_reliability=self.settings.min_host_reliability,
                min_disk_gb=instance.disk_gb,
                limit=self.settings.offers_to_try * 10,
            )
        )
        chosen = standby_offers(instance, offers, self.settings.offers_to_try)
        if not chosen:
            raise NoOfferAvailable(f"No other {instance.gpu_type} host can hold a standby right now")
        candidates = [
            {
                "offer_id": offer.offer_id,
                "price_per_hour": offer.price_per_hour,
                "region": offer.region,
                "gpu_name": offer.gpu_name,
                "gpu_memory_gb": offer.gpu_memory_gb,
            }
            for offer in chosen
        ]
        return {"candidates": candidates}

    def rent_standby(self, ref: InstanceRef, candidates: list[dict[str, Any]]) -> dict[str, Any]:
        """Rent the first candidate still there, on demand (a standby must be there when needed), with
        an agent token of its own."""
        instance, standby = self._renting(ref)
        if standby.machine_id:
            return {"provider_instance_id": standby.machine_id}  # a retry after it was recorded
        token = new_agent_token(instance.team_id, instance.instance_id)
        # Standby candidates carry no bid: rented on demand.
        machine_id, candidate = self._rent_first_offer(
            instance, candidates, onstart_script(instance, token, self.settings), what="offers for a standby"
        )
        rented = standby.model_copy(
            update={
                "machine_id": machine_id,
                "offer_id": int(candidate["offer_id"]),
                "region": candidate.get("region"),
                "gpu_name": candidate.get("gpu_name"),
                "gpu_memory_gb": candidate.get("gpu_memory_gb"),
                "running_cost_per_hour": candidate.get("price_per_hour"),
                "cost_per_hour": candidate.get("price_per_hour") or 0.0,
                "agent_token_digest": agent_token_digest(token),
            }
        )
        self._keep(instance, standby, rented, machine_id)
        return {"provider_instance_id": machine_id}

    def check_standby_boot(self, ref: InstanceRef, machine_id: str) -> dict[str, str]:
        instance, standby = self._standby_of(ref, InstanceStatus.RUNNING, machine_id)
        machine = self._machine(machine_id)
        if machine.status == ProviderMachineStatus.RUNNING:
            syncing = standby.model_copy(update={"state": "syncing", **self._where(machine)})
            self._keep(instance, standby, syncing)
            return {"state": "running"}
        self._not_failed(machine, standby.since)
        return {"state": "pending"}

    def stop_standby(self, ref: InstanceRef, machine_id: str, snapshot_id: str) -> dict[str, Any]:
        """It holds the checkpoint: stop it, so that only its disk is billed."""
        instance, standby = self._standby_of(ref, InstanceStatus.RUNNING, machine_id)
        self.provider.stop_machine(machine_id)
        synced = standby.model_copy(update={"synced_snapshot_id": snapshot_id, "synced_at": self.clock()})
        self._keep(instance, standby, synced)
        return {}

    def check_standby_stopped(self, ref: InstanceRef, machine_id: str) -> dict[str, str]:
        instance, standby = self._standby_of(ref, InstanceStatus.RUNNING, machine_id)
        machine = self._machine(machine_id)
        if machine.status != ProviderMachineStatus.STOPPED:
            self._not_failed(machine, standby.synced_at)
            return {"state": "pending"}
        # What a stopped machine costs: its disk alone.
        cost = (
            round(machine.price_per_hour, 4) if machine.price_per_hour is not None else standby.cost_per_hour
        )
        self._keep(instance, standby, standby.model_copy(update={"state": "ready", "cost_per_hour": cost}))
        return {"state": "ready"}

    def fail_standby(self, ref: InstanceRef, failure: dict[str, Any] | None) -> dict[str, Any]:
        """Renting or syncing the standby failed: give its machine back and forget it; the next
        housekeeping run rents another."""
        instance = self.instances.find(ref.team_id, ref.instance_id)
        standby = instance.standby if instance is not None else None
        logger.warning(
            "Could not make a standby ready",
            extra={"instance_id": ref.instance_id, "why": failure_reason(failure)},
        )
        if instance is None or standby is None or standby.state not in ("renting", "syncing"):
            return {}  # nothing of ours is held: a machine rented meanwhile goes with the reconciler
        if standby.machine_id is not None:
            self._give_back(standby.machine_id)
        with contextlib.suppress(StaleInstanceState):
            self.instances.transition(
                instance, expected=DELETABLE_STATES, changes={"standby": None}, standby_was=standby
            )
        return {}

    # Taking over ---------------------------------------------------------------------------------

    def start_standby(self, ref: InstanceRef, machine_id: str) -> dict[str, Any]:
        self._standby_of(ref, InstanceStatus.WAKING, machine_id)
        try:
            self.provider.start_machine(machine_id)
        except ProviderMachineNotFound:
            raise MachineFailed(f"The standby {machine_id} is gone") from None
        return {}

    def check_takeover_boot(self, ref: InstanceRef, machine_id: str) -> dict[str, str]:
        instance, _ = self._standby_of(ref, InstanceStatus.WAKING, machine_id)
        machine = self._machine(machine_id)
        if machine.status == ProviderMachineStatus.RUNNING:
            return {"state": "running"}
        if machine.status == ProviderMachineStatus.FAILED:
            raise MachineFailed(f"The standby failed to start: {machine.status_message or 'no reason given'}")
        since = instance.failing_over_since or instance.updated_at
        if (self.clock() - since).total_seconds() > self.settings.boot_timeout_seconds:
            raise BootTimedOut(f"The standby was not running after {self.settings.boot_timeout_seconds} s")
        return {"state": "pending"}

    def switch_to_standby(self, ref: InstanceRef, machine_id: str) -> dict[str, Any]:
        """The standby holds the latest checkpoint: the instance runs on it from now, under its own id,
        team and SSH key, at the standby's address, its agent now the instance's."""
        instance, standby = self._standby_of(ref, InstanceStatus.WAKING, machine_id)
        machine = self._machine(machine_id)
        now = self.clock()
        since = instance.failing_over_since or now
        moved = instance.model_copy(update={"region": standby.region or instance.region})
        events = self._running_events(
            moved, [EventType.STARTED, EventType.READY], machine.ip_address, machine.ssh_port
        )
        events.append(
            InstanceEvent.of(
                EventType.FAILOVER_COMPLETED,
                instance,
                strategy=STRATEGY,
                recovered_after_seconds=round((now - since).total_seconds(), 1),
                ip=machine.ip_address,
            )
        )
        fields = machine_fields(machine)
        fields["cost_per_hour"] = standby.running_cost_per_hour or fields.get("cost_per_hour")
        changes: dict[str, Any] = {
            **fields,
            "status": InstanceStatus.RUNNING,
            "status_reason": None,
            "provider_instance_id": machine_id,
            "offer_id": standby.offer_id,
            "region": moved.region,
            "agent_token_digest": standby.agent_token_digest,
            "running_since": now,
            "failing_over_since": None,
            "last_failover_at": now,
            "standby": None,
            "hibernated_at": None,
            **HEARTBEAT_RESET,
        }
        try:
            self.instances.transition(
                instance,
                expected=[InstanceStatus.WAKING],
                changes=changes,
                events=events,
                standby_was=standby,
            )
        except StaleInstanceState:
            raise InstanceNoLongerWanted(instance.instance_id) from None
        return {}

    def fall_back(self, ref: InstanceRef, machine_id: str, failure: dict[str, Any] | None) -> dict[str, Any]:
        """The standby could not take over: give it back and go on with the snapshot's path (a new
        machine, the last checkpoint restored). `fallback` is False when there is nothing to go on with."""
        self._give_back(machine_id)
        instance = self._load_if(ref, InstanceStatus.WAKING)
        if instance is None or instance.failing_over_since is None or instance.last_snapshot_id is None:
            return {"fallback": False}
        reason = failure_reason(failure)
        events = [
            InstanceEvent.of(EventType.FAILOVER_FAILED, instance, strategy=STRATEGY, reason=reason),
            InstanceEvent.of(
                EventType.FAILOVER_STARTED,
                instance,
                strategy="snapshot",
                snapshot_id=instance.last_snapshot_id,
            ),
        ]
        try:
            self.instances.transition(
                instance,
                expected=[InstanceStatus.WAKING],
                changes={
                    "provider_instance_id": None,
                    "standby": None,
                    "failing_over_since": self.clock(),
                    "status_reason": f"the standby could not take over ({reason}); renting a new machine",
                    **MACHINE_GONE,
                },
                events=events,
            )
        except StaleInstanceState:
            return {"fallback": False}
        return {"fallback": True}

    # Helpers -------------------------------------------------------------------------------------

    def _renting(self, ref: InstanceRef) -> tuple[Instance, Standby]:
        instance = self._load(ref, InstanceStatus.RUNNING)
        standby = instance.standby
        if standby is None or standby.state != "renting":
            raise InstanceNoLongerWanted(f"{ref.instance_id} is renting no standby")
        return instance, standby

    def _standby_of(
        self, ref: InstanceRef, expected: InstanceStatus, machine_id: str
    ) -> tuple[Instance, Standby]:
        instance = self._load(ref, expected)
        standby = instance.standby
        if standby is None or standby.machine_id != machine_id:
            raise InstanceNoLongerWanted(f"{ref.instance_id} no longer holds the standby {machine_id}")
        return instance, standby

    def _keep(self, instance: Instance, was: Standby, now: Standby, rented: str | None = None) -> None:
        """Record the standby's progress while the instance still holds it as it was; else the machine
        goes (when just rented) and the workflow ends."""
        try:
            self.instances.transition(
                instance, expected=[instance.status], changes={"standby": now}, standby_was=was
            )
        except StaleInstanceState:
            if rented is not None:
                self._give_back(rented)
            raise InstanceNoLongerWanted(instance.instance_id) from None

    def _machine(self, machine_id: str) -> ProviderMachine:
        try:
            return self.provider.get_machine(machine_id)
        except ProviderMachineNotFound:
            raise MachineFailed(f"The standby {machine_id} is gone") from None

    def _not_failed(self, machine: ProviderMachine, since: datetime | None) -> None:
        """A standby still on its way: failed, or too slow since `since`, it raises."""
        if machine.status == ProviderMachineStatus.FAILED:
            raise MachineFailed(f"The standby failed: {machine.status_message or 'no reason given'}")
        if since is not None and (self.clock() - since).total_seconds() > self.settings.boot_timeout_seconds:
            raise BootTimedOut(f"The standby was not ready after {self.settings.boot_timeout_seconds} s")

    @staticmethod
    def _where(machine: ProviderMachine) -> dict[str, Any]:
        return {
            "ip_address": machine.ip_address,
            "ssh_port": machine.ssh_port,
            "jupyter_port": machine.jupyter_port,
        }

    def _give_back(self, machine_id: str) -> None:
        """Destroy the standby; one the provider will not destroy now is left to the reconciler, which
        destroys what no instance holds."""
        try:
            self._destroy(machine_id)
        except ProviderError as error:
            logger.warning(
                "The provider would not destroy a standby yet; the reconciler will",
                extra={"machine_id": machine_id, "why": error.message},
            )
