"""The instance service the API calls and the workflow steps, over one real table (moto).

The GPU marketplace is an in-memory fake that answers like the provider contract says, and fails
on demand. The clock only moves when a test moves it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from dumont_core.instances import service as instance_service
from dumont_core.instances.machine_labels import machine_label
from dumont_core.instances.metrics import MetricsRepository
from dumont_core.instances.models import Instance, InstanceEvent, InstanceSpec, PowerAction
from dumont_core.instances.reconciler import MachineReconciler
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.service import InstanceService
from dumont_core.instances.step_support import InstanceRef
from dumont_core.instances.steps import InstanceWorkflowSteps
from dumont_core.instances.uptime import UptimeRepository, UptimeService
from dumont_core.platform.identity import Principal
from dumont_core.platform.settings import DEFAULT_MACHINE_LABEL_PREFIX, ProviderSettings
from tests.fakes.clock import Clock
from tests.fakes.events import InMemoryPublisher
from tests.fakes.provider import FakeMachine, FakeProvider, offer
from tests.fakes.workflows import RecordingStarter

PRINCIPAL = Principal(account_id="acct_1", team_id="team_1")
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"


def spec(**overrides: Any) -> InstanceSpec:
    values: dict[str, Any] = {"gpu_type": "RTX_4090", "image": "pytorch/pytorch:latest", "disk_gb": 100}
    return InstanceSpec(**{**values, **overrides})


def ref_of(instance: Instance) -> InstanceRef:
    return InstanceRef(team_id=instance.team_id, instance_id=instance.instance_id)


@dataclass
class Provisioned:
    instance: Instance
    machine: FakeMachine

    @property
    def ref(self) -> InstanceRef:
        return ref_of(self.instance)


@dataclass
class Cloud:
    """What a test drives and looks at: the service the API calls, the workflow steps, the marketplace,
    the table, the events published, the workflows started, and the clock they all read."""

    service: InstanceService
    steps: InstanceWorkflowSteps
    provider: FakeProvider
    repository: InstanceRepository
    publisher: InMemoryPublisher
    starter: RecordingStarter
    clock: Clock
    reconciler: MachineReconciler

    def create(self, **overrides: Any) -> Instance:
        return self.service.create(PRINCIPAL, spec(**overrides))

    def ask(self, instance: Instance, action: PowerAction) -> Instance:
        """The user asks for a power action, as through the API."""
        return self.service.request_power_action(PRINCIPAL, instance.instance_id, action)

    def delete(self, instance: Instance) -> Instance:
        return self.service.delete(PRINCIPAL, instance.instance_id)

    def candidates(self, instance: Instance) -> list[dict[str, Any]]:
        candidates: list[dict[str, Any]] = self.steps.choose_offers(ref_of(instance))["candidates"]
        return candidates

    def rent(self, instance: Instance) -> str:
        """Choose the offers and rent a machine, as provisioning does; the machine's id."""
        machine_id: str = self.steps.rent_machine(ref_of(instance), self.candidates(instance))[
            "provider_instance_id"
        ]
        return machine_id

    def provision(self, **overrides: Any) -> Provisioned:
        """Create an instance and run the provisioning steps until it runs."""
        instance = self.create(**overrides)
        machine = self.provider.machines[self.rent(instance)]
        machine.comes_up()
        assert self.steps.check_boot(ref_of(instance), machine.machine_id) == {"state": "running"}
        return Provisioned(self.stored(instance), machine)

    def stored(self, instance: Instance) -> Instance:
        found = self.repository.get(instance.team_id, instance.instance_id)
        assert found is not None
        return found

    def label(self, instance: Instance) -> str:
        """What the machines rented for `instance` are labelled with at the provider."""
        return machine_label(DEFAULT_MACHINE_LABEL_PREFIX, instance.team_id, instance.instance_id)

    def timeline(self, instance: Instance) -> list[str]:
        return [event.type.value for event in self.repository.list_events(instance.instance_id)]

    def published(self, instance: Instance) -> list[InstanceEvent]:
        return [event for event in self.publisher.published if event.instance_id == instance.instance_id]


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider(
        offers=[
            offer(1, price=0.40, min_bid=0.20, region="us-west"),
            offer(2, price=0.50, min_bid=0.30, region="us-east"),
            offer(3, price=0.60, min_bid=None, region="us-east", num_gpus=2),
            offer(4, price=0.70, min_bid=0.40, region="us-east", num_gpus=4),
            offer(5, price=0.10, min_bid=0.05, region="us-east", reliability=0.5),
            offer(6, price=0.80, region="us-east", num_gpus=2),
            offer(7, gpu_name="A100 SXM4", price=1.20, region="eu-central"),
        ]
    )


@pytest.fixture
def cloud(
    repository: InstanceRepository,
    readings: MetricsRepository,
    publisher: InMemoryPublisher,
    provider: FakeProvider,
    settings: ProviderSettings,
    clock: Clock,
) -> Cloud:
    starter = RecordingStarter()
    service = InstanceService(
        repository=repository,
        readings=readings,
        publisher=publisher,
        workflows=starter,
        uptime=UptimeService(repository=UptimeRepository(), clock=clock),
        clock=clock,
    )
    provider.clock = clock
    return Cloud(
        service=service,
        steps=InstanceWorkflowSteps(instances=service, provider=provider, settings=settings, clock=clock),
        provider=provider,
        repository=repository,
        publisher=publisher,
        starter=starter,
        clock=clock,
        reconciler=MachineReconciler(instances=service, provider=provider, settings=settings, clock=clock),
    )


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def service_log() -> Iterator[list[logging.LogRecord]]:
    """What the instance service logs for the operators, held on its own logger whatever handlers and
    propagation the logging set-up gives it."""
    records = Records()
    own = logging.getLogger(instance_service.logger.name)
    own.addHandler(records)
    yield records.records
    own.removeHandler(records)
