"""A GPU marketplace in memory that answers as the provider contract says, and fails on demand."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from dumont_core.providers.models import (
    MachineRequest,
    Offer,
    OfferQuery,
    OfferUnavailable,
    ProviderError,
    ProviderMachine,
    ProviderMachineNotFound,
    ProviderMachineStatus,
)


def offer(
    offer_id: int,
    *,
    gpu_name: str = "RTX 4090",
    num_gpus: int = 1,
    price: float = 0.50,
    min_bid: float | None = 0.30,
    reliability: float = 0.98,
    region: str | None = "us-east",
    disk_gb: float = 500,
) -> Offer:
    return Offer(
        offer_id=offer_id,
        gpu_name=gpu_name,
        num_gpus=num_gpus,
        gpu_memory_gb=24.0,
        price_per_hour=price,
        min_bid_per_hour=min_bid,
        reliability=reliability,
        geolocation=None,
        region=region,
        disk_space_gb=disk_gb,
    )


@dataclass
class FakeMachine:
    machine_id: str
    offer: Offer
    label: str
    onstart_script: str | None
    price_per_hour: float
    status: ProviderMachineStatus = ProviderMachineStatus.PROVISIONING
    status_message: str | None = None
    ip_address: str | None = None
    ssh_port: int | None = None
    jupyter_port: int | None = None
    started_at: datetime | None = None

    def comes_up(self, ip: str = "203.0.113.7", ssh_port: int = 40022, jupyter_port: int = 48888) -> None:
        self.status = ProviderMachineStatus.RUNNING
        self.ip_address, self.ssh_port, self.jupyter_port = ip, ssh_port, jupyter_port


@dataclass
class FakeProvider:
    """Offers and machines in memory. `fail_next(operation, error)` makes the next call fail."""

    name: str = "fake"
    offers: list[Offer] = field(default_factory=list)
    machines: dict[str, FakeMachine] = field(default_factory=dict)
    gone_offers: set[int] = field(default_factory=set)
    searches: list[OfferQuery] = field(default_factory=list)
    power_requests: list[tuple[str, str]] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)
    on_create: Callable[[str], object] | None = None
    """Runs after a machine is created, before create_machine returns (to race with the workflow)."""
    clock: Callable[[], datetime] | None = None
    """When set, each machine remembers when it was rented."""
    _failures: dict[str, list[ProviderError]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))

    def fail_next(self, operation: str, error: ProviderError) -> None:
        self._failures.setdefault(operation, []).append(error)

    def _maybe_fail(self, operation: str) -> None:
        queued = self._failures.get(operation)
        if queued:
            raise queued.pop(0)

    def search_offers(self, query: OfferQuery) -> list[Offer]:
        self._maybe_fail("search_offers")
        self.searches.append(query)
        found = [
            candidate
            for candidate in self.offers
            if candidate.gpu_name in query.gpu_names
            and candidate.offer_id not in self.gone_offers
            and candidate.reliability >= query.min_reliability
            and candidate.disk_space_gb >= query.min_disk_gb
        ]
        return sorted(found, key=lambda candidate: candidate.price_per_hour)[: query.limit]

    def create_machine(self, request: MachineRequest) -> str:
        self._maybe_fail("create_machine")
        offer_id = request.offer_id
        rented = next((candidate for candidate in self.offers if candidate.offer_id == offer_id), None)
        if rented is None or offer_id in self.gone_offers:
            raise OfferUnavailable(f"offer {offer_id} is no longer available", status_code=404)
        machine_id = str(next(self._ids))
        self.machines[machine_id] = FakeMachine(
            machine_id=machine_id,
            offer=rented,
            label=request.label,
            onstart_script=request.onstart_script,
            price_per_hour=request.bid_per_hour
            if request.bid_per_hour is not None
            else rented.price_per_hour,
            started_at=self.clock() if self.clock is not None else None,
        )
        self.gone_offers.add(offer_id)
        if self.on_create is not None:
            self.on_create(machine_id)
        return machine_id

    def _machine(self, machine_id: str) -> FakeMachine:
        machine = self.machines.get(machine_id)
        if machine is None:
            raise ProviderMachineNotFound(f"no machine {machine_id}", status_code=404)
        return machine

    def get_machine(self, provider_instance_id: str) -> ProviderMachine:
        self._maybe_fail("get_machine")
        return self._describe(self._machine(provider_instance_id))

    @staticmethod
    def _describe(machine: FakeMachine) -> ProviderMachine:
        return ProviderMachine(
            provider_instance_id=machine.machine_id,
            status=machine.status,
            status_message=machine.status_message,
            gpu_name=machine.offer.gpu_name,
            num_gpus=machine.offer.num_gpus,
            gpu_memory_gb=machine.offer.gpu_memory_gb,
            price_per_hour=machine.price_per_hour,
            reliability=machine.offer.reliability,
            geolocation=machine.offer.geolocation,
            ip_address=machine.ip_address,
            ssh_port=machine.ssh_port,
            jupyter_port=machine.jupyter_port,
            label=machine.label,
            started_at=machine.started_at,
        )

    def list_machines(self) -> list[ProviderMachine]:
        self._maybe_fail("list_machines")
        return [self._describe(machine) for machine in self.machines.values()]

    def machine_ids_labelled(self, label: str) -> list[str]:
        self._maybe_fail("machine_ids_labelled")
        return [machine_id for machine_id, machine in self.machines.items() if machine.label == label]

    def _power(self, operation: str, machine_id: str) -> None:
        self._maybe_fail(operation)
        self._machine(machine_id)
        self.power_requests.append((operation, machine_id))

    def start_machine(self, provider_instance_id: str) -> None:
        self._power("start", provider_instance_id)

    def stop_machine(self, provider_instance_id: str) -> None:
        self._power("stop", provider_instance_id)

    def reboot_machine(self, provider_instance_id: str) -> None:
        self._power("reboot", provider_instance_id)
        self.machines[provider_instance_id].status = ProviderMachineStatus.PROVISIONING

    def destroy_machine(self, provider_instance_id: str) -> None:
        self._maybe_fail("destroy_machine")
        if self.machines.pop(provider_instance_id, None) is not None:
            self.destroyed.append(provider_instance_id)
