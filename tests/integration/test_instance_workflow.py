"""The instance workflow steps and the API-side service against a real DynamoDB table (moto).

The GPU marketplace is an in-memory fake that answers like the provider contract says, and fails
on demand. The clock only moves when a test moves it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from dumont_core.instances.metrics import MetricsRepository
from dumont_core.instances.models import (
    EventType,
    Instance,
    InstanceEvent,
    InstanceSpec,
    InstanceStatus,
    PowerAction,
    StaleInstanceState,
)
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.service import InstanceService
from dumont_core.instances.step_support import (
    BootTimedOut,
    InstanceNoLongerWanted,
    InstanceRef,
    MachineFailed,
    NoOfferAvailable,
    PowerActionTimedOut,
)
from dumont_core.instances.steps import InstanceWorkflowSteps
from dumont_core.platform.errors import InvalidState, ServiceUnavailable
from dumont_core.platform.identity import Principal
from dumont_core.platform.settings import ProviderSettings
from dumont_core.platform.workflows import Workflow
from dumont_core.providers.models import (
    MachineRequest,
    ProviderMachineNotFound,
    ProviderMachineStatus,
    ProviderRequestRejected,
    ProviderThrottled,
    ProviderUnavailable,
)
from tests.fakes.clock import Clock
from tests.fakes.events import InMemoryPublisher
from tests.fakes.provider import FakeMachine, FakeProvider, offer
from tests.fakes.workflows import RecordingStarter

PRINCIPAL = Principal(account_id="acct_1", team_id="team_1")
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"


# Fixtures and helpers ----------------------------------------------------------------------------


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
def starter() -> RecordingStarter:
    return RecordingStarter()


@pytest.fixture
def service(
    repository: InstanceRepository,
    readings: MetricsRepository,
    publisher: InMemoryPublisher,
    starter: RecordingStarter,
    clock: Clock,
) -> InstanceService:
    return InstanceService(
        repository=repository, readings=readings, publisher=publisher, workflows=starter, clock=clock
    )


@pytest.fixture
def steps(
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
    provider: FakeProvider,
    settings: ProviderSettings,
    clock: Clock,
) -> InstanceWorkflowSteps:
    return InstanceWorkflowSteps(
        repository=repository, publisher=publisher, provider=provider, settings=settings, clock=clock
    )


def spec(**overrides: Any) -> InstanceSpec:
    values: dict[str, Any] = {"gpu_type": "RTX_4090", "image": "pytorch/pytorch:latest", "disk_gb": 100}
    return InstanceSpec(**{**values, **overrides})


def ref_of(instance: Instance) -> InstanceRef:
    return InstanceRef(team_id=instance.team_id, instance_id=instance.instance_id)


def stored(repository: InstanceRepository, instance: Instance) -> Instance:
    found = repository.get(instance.team_id, instance.instance_id)
    assert found is not None
    return found


def timeline(repository: InstanceRepository, instance: Instance) -> list[str]:
    return [event.type.value for event in repository.list_events(instance.instance_id)]


def published(publisher: InMemoryPublisher, instance: Instance) -> list[InstanceEvent]:
    return [event for event in publisher.published if event.instance_id == instance.instance_id]


def step_failure(error: Exception) -> dict[str, Any]:
    """What a Step Functions Catch puts in `$.failure` for a Lambda task that raised `error`."""
    cause = {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": []}
    return {"Error": type(error).__name__, "Cause": json.dumps(cause)}


@dataclass
class Provisioned:
    instance: Instance
    machine: FakeMachine


@pytest.fixture
def provision(
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
) -> Callable[..., Provisioned]:
    """Create an instance and run the provisioning steps until it runs."""

    def run(**overrides: Any) -> Provisioned:
        instance = service.create(PRINCIPAL, spec(**overrides))
        ref = ref_of(instance)
        candidates = steps.choose_offers(ref)["candidates"]
        machine_id = steps.rent_machine(ref, candidates)["provider_instance_id"]
        machine = provider.machines[machine_id]
        machine.comes_up()
        assert steps.check_boot(ref, machine_id) == {"state": "running"}
        return Provisioned(stored(repository, instance), machine)

    return run


# Choosing offers ---------------------------------------------------------------------------------


def test_choose_offers_keeps_the_requested_region_and_gpu_count_cheapest_first(
    service: InstanceService, steps: InstanceWorkflowSteps, provider: FakeProvider
) -> None:
    instance = service.create(PRINCIPAL, spec(region="us-east", num_gpus=2, disk_gb=200))

    candidates = steps.choose_offers(ref_of(instance))["candidates"]

    assert [candidate["offer_id"] for candidate in candidates] == [3, 4, 6]
    assert {candidate["region"] for candidate in candidates} == {"us-east"}
    first = candidates[0]
    assert first["bid_per_hour"] is None, "an offer without spot bids is rented on demand"
    assert candidates[1]["bid_per_hour"] == pytest.approx(0.44), "the host's minimum bid plus the margin"
    assert provider.searches[-1].gpu_names == ("RTX 4090",)
    assert provider.searches[-1].min_disk_gb == 200


def test_choose_offers_takes_any_region_when_none_was_asked_for_and_at_most_offers_to_try(
    service: InstanceService, steps: InstanceWorkflowSteps
) -> None:
    instance = service.create(PRINCIPAL, spec())

    candidates = steps.choose_offers(ref_of(instance))["candidates"]

    assert [candidate["offer_id"] for candidate in candidates] == [1, 2, 3], "3 offers to try, cheapest first"
    assert candidates[0]["region"] == "us-west"


def test_no_matching_offer_fails_provisioning_with_a_readable_reason(
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
) -> None:
    instance = service.create(PRINCIPAL, spec(gpu_type="A100", region="us-east", disk_gb=300))

    with pytest.raises(NoOfferAvailable) as caught:
        steps.choose_offers(ref_of(instance))

    message = str(caught.value)
    assert "A100" in message and "us-east" in message and "300 GB" in message
    assert stored(repository, instance).status == InstanceStatus.STARTING, "the workflow decides what follows"

    assert steps.fail_provisioning(ref_of(instance), step_failure(caught.value)) == {"destroyed": None}

    failed = stored(repository, instance)
    assert failed.status == InstanceStatus.FAILED
    assert failed.status_reason == f"NoOfferAvailable: {message}"
    assert timeline(repository, instance) == ["instance.created", "instance.failed"]
    assert published(publisher, instance)[-1].details == {"reason": failed.status_reason}


def test_choose_offers_for_an_instance_deleted_meanwhile_ends_the_workflow(
    service: InstanceService, steps: InstanceWorkflowSteps, provider: FakeProvider
) -> None:
    instance = service.create(PRINCIPAL, spec())
    service.delete(PRINCIPAL, instance.instance_id)

    with pytest.raises(InstanceNoLongerWanted):
        steps.choose_offers(ref_of(instance))
    assert provider.searches == []


# Renting -----------------------------------------------------------------------------------------


def test_rent_machine_moves_past_gone_offers_and_records_what_it_rented(
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
) -> None:
    instance = service.create(PRINCIPAL, spec(region="us-east", ssh_key=SSH_KEY))
    candidates = steps.choose_offers(ref_of(instance))["candidates"]
    assert candidates[0]["offer_id"] == 2
    provider.gone_offers.add(2)

    result = steps.rent_machine(ref_of(instance), candidates)

    machine = provider.machines[result["provider_instance_id"]]
    assert list(provider.machines) == [machine.machine_id], "exactly one machine rented"
    assert machine.offer.offer_id == 3
    assert machine.label == instance.instance_id
    assert machine.onstart_script is not None and SSH_KEY in machine.onstart_script
    rented = stored(repository, instance)
    assert rented.status == InstanceStatus.STARTING
    assert rented.provider_instance_id == machine.machine_id
    assert rented.offer_id == 3
    assert rented.region == "us-east"
    assert rented.cost_per_hour == pytest.approx(0.60), "offer 3 has no spot price: on-demand"
    assert rented.gpu_name == "RTX 4090"


def test_rent_machine_records_the_spot_bid_as_the_price(
    service: InstanceService, steps: InstanceWorkflowSteps, repository: InstanceRepository
) -> None:
    instance = service.create(PRINCIPAL, spec(region="us-east"))
    steps.rent_machine(ref_of(instance), steps.choose_offers(ref_of(instance))["candidates"])

    assert stored(repository, instance).cost_per_hour == pytest.approx(0.33)


def test_rent_machine_when_every_offer_is_gone_rents_nothing(
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
) -> None:
    instance = service.create(PRINCIPAL, spec(region="us-east"))
    candidates = steps.choose_offers(ref_of(instance))["candidates"]
    provider.gone_offers.update(candidate["offer_id"] for candidate in candidates)

    with pytest.raises(NoOfferAvailable, match="All 3 matching offers were taken"):
        steps.rent_machine(ref_of(instance), candidates)
    assert provider.machines == {}
    assert stored(repository, instance).provider_instance_id is None


def test_a_throttled_rent_is_left_to_the_workflow_retry_and_records_nothing(
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
) -> None:
    instance = service.create(PRINCIPAL, spec())
    candidates = steps.choose_offers(ref_of(instance))["candidates"]
    provider.fail_next("create_machine", ProviderThrottled("slow down"))

    with pytest.raises(ProviderThrottled):
        steps.rent_machine(ref_of(instance), candidates)
    assert provider.machines == {}
    assert stored(repository, instance).provider_instance_id is None

    machine_id = steps.rent_machine(ref_of(instance), candidates)["provider_instance_id"]
    assert stored(repository, instance).provider_instance_id == machine_id


def test_a_machine_rented_for_an_instance_deleted_meanwhile_is_destroyed(
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
    starter: RecordingStarter,
) -> None:
    instance = service.create(PRINCIPAL, spec())
    candidates = steps.choose_offers(ref_of(instance))["candidates"]
    # The user deletes the instance while the provider is creating its machine.
    provider.on_create = lambda _machine_id: service.delete(PRINCIPAL, instance.instance_id)

    with pytest.raises(InstanceNoLongerWanted):
        steps.rent_machine(ref_of(instance), candidates)

    assert provider.machines == {}, "no orphan machine is left at the provider"
    assert len(provider.destroyed) == 1
    assert starter.started[-1][0] == Workflow.DESTROY
    assert steps.destroy_machine(ref_of(instance)) == {"final_cost": 0.0}
    assert stored(repository, instance).status == InstanceStatus.DELETED


def test_a_machine_recorded_before_the_instance_was_deleted_is_destroyed_by_the_delete(
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
) -> None:
    instance = service.create(PRINCIPAL, spec())
    machine_id = steps.rent_machine(ref_of(instance), steps.choose_offers(ref_of(instance))["candidates"])[
        "provider_instance_id"
    ]
    service.delete(PRINCIPAL, instance.instance_id)

    with pytest.raises(InstanceNoLongerWanted):
        steps.check_boot(ref_of(instance), machine_id)
    steps.destroy_machine(ref_of(instance))

    assert provider.machines == {}
    assert provider.destroyed == [machine_id]
    assert stored(repository, instance).status == InstanceStatus.DELETED


# Booting -----------------------------------------------------------------------------------------


def test_check_boot_waits_for_the_machine_then_records_how_to_reach_it(
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
    clock: Clock,
) -> None:
    instance = service.create(PRINCIPAL, spec(region="us-east"))
    ref = ref_of(instance)
    machine_id = steps.rent_machine(ref, steps.choose_offers(ref)["candidates"])["provider_instance_id"]

    clock.advance(seconds=30)
    assert steps.check_boot(ref, machine_id) == {"state": "pending"}
    assert stored(repository, instance).status == InstanceStatus.STARTING
    assert timeline(repository, instance) == ["instance.created"]

    provider.machines[machine_id].comes_up(ip="198.51.100.4", ssh_port=41022, jupyter_port=41888)
    booted_at = clock.advance(seconds=30)
    assert steps.check_boot(ref, machine_id) == {"state": "running"}

    running = stored(repository, instance)
    assert running.status == InstanceStatus.RUNNING
    assert (running.ip_address, running.ssh_port, running.jupyter_port) == ("198.51.100.4", 41022, 41888)
    assert running.cost_per_hour == pytest.approx(0.33)
    assert running.running_since == booted_at
    assert timeline(repository, instance) == ["instance.created", "instance.started", "instance.ready"]
    events = published(publisher, instance)
    assert [event.type for event in events] == [EventType.CREATED, EventType.STARTED, EventType.READY]
    assert events[-1].details == {
        "gpu_type": "RTX_4090",
        "region": "us-east",
        "ip": "198.51.100.4",
        "ssh_port": 41022,
    }

    clock.advance(minutes=30)
    assert running.cost_accumulated_at(clock()) == pytest.approx(0.165)
    assert running.uptime_seconds_at(clock()) == 1800


def test_boot_timeout_fails_provisioning_and_destroys_the_machine(
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
    clock: Clock,
) -> None:
    instance = service.create(PRINCIPAL, spec())
    ref = ref_of(instance)
    machine_id = steps.rent_machine(ref, steps.choose_offers(ref)["candidates"])["provider_instance_id"]

    clock.advance(seconds=599)
    assert steps.check_boot(ref, machine_id) == {"state": "pending"}
    clock.advance(seconds=2)
    with pytest.raises(BootTimedOut) as caught:
        steps.check_boot(ref, machine_id)

    assert steps.fail_provisioning(ref, step_failure(caught.value)) == {"destroyed": machine_id}
    assert provider.machines == {}
    failed = stored(repository, instance)
    assert failed.status == InstanceStatus.FAILED
    assert failed.status_reason == "BootTimedOut: The machine was not running after 600 s"
    assert failed.cost_accumulated_at(clock()) == 0.0, "a machine that never ran is not billed"
    assert published(publisher, instance)[-1].type == EventType.FAILED


def test_a_machine_failing_to_boot_fails_provisioning_with_the_providers_reason(
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
) -> None:
    instance = service.create(PRINCIPAL, spec())
    ref = ref_of(instance)
    machine_id = steps.rent_machine(ref, steps.choose_offers(ref)["candidates"])["provider_instance_id"]
    provider.machines[machine_id].status = ProviderMachineStatus.FAILED
    provider.machines[machine_id].status_message = "image pull failed: manifest unknown"

    with pytest.raises(MachineFailed, match="image pull failed"):
        steps.check_boot(ref, machine_id)
    # The provider is briefly unavailable: the cleanup raises so that the workflow retries it.
    provider.fail_next("destroy_machine", ProviderUnavailable("502 from the provider", status_code=502))
    failure = step_failure(
        MachineFailed("The machine failed while booting: image pull failed: manifest unknown")
    )
    with pytest.raises(ProviderUnavailable):
        steps.fail_provisioning(ref, failure)
    assert machine_id in provider.machines
    assert stored(repository, instance).status == InstanceStatus.STARTING

    steps.fail_provisioning(ref, failure)

    assert provider.machines == {}
    failed = stored(repository, instance)
    assert failed.status == InstanceStatus.FAILED
    assert failed.status_reason is not None and "image pull failed: manifest unknown" in failed.status_reason
    assert failed.ip_address is None
    assert timeline(repository, instance) == ["instance.created", "instance.failed"]
    assert published(publisher, instance)[-1].details["reason"] == failed.status_reason


# Stop, start, reboot -----------------------------------------------------------------------------


def test_stop_then_start_reach_their_states_and_bill_only_the_running_time(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
    starter: RecordingStarter,
    clock: Clock,
) -> None:
    booted = provision(region="us-east")
    instance, machine = booted.instance, booted.machine
    ref = ref_of(instance)
    assert instance.cost_per_hour == pytest.approx(0.33)

    clock.advance(hours=1)
    stopping = service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.STOP)
    assert stopping.status == InstanceStatus.STOPPING
    workflow, _, payload = starter.started[-1]
    assert workflow == Workflow.STOP
    assert payload["instance"] == {"team_id": "team_1", "instance_id": instance.instance_id}

    steps.request_power_action(ref, PowerAction.STOP)
    assert provider.power_requests == [("stop", machine.machine_id)]
    clock.advance(seconds=20)
    assert steps.check_power_action(ref, PowerAction.STOP) == {"state": "pending"}
    machine.status = ProviderMachineStatus.STOPPED
    clock.advance(seconds=40)
    assert steps.check_power_action(ref, PowerAction.STOP) == {"state": "done"}

    stopped = stored(repository, instance)
    assert stopped.status == InstanceStatus.STOPPED
    assert stopped.billed_seconds == pytest.approx(3660), "billed until the provider stopped it"
    clock.advance(hours=10)
    assert stopped.cost_accumulated_at(clock()) == pytest.approx(0.33 * 3660 / 3600, abs=1e-4)
    assert stopped.uptime_seconds_at(clock()) == 0

    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.START)
    assert stored(repository, instance).status == InstanceStatus.STARTING
    steps.request_power_action(ref, PowerAction.START)
    machine.comes_up(ip="203.0.113.99")
    started_at = clock.advance(seconds=30)
    assert steps.check_power_action(ref, PowerAction.START) == {"state": "done"}

    running = stored(repository, instance)
    assert running.status == InstanceStatus.RUNNING
    assert running.ip_address == "203.0.113.99"
    assert running.running_since == started_at
    clock.advance(hours=1)
    assert running.uptime_seconds_at(clock()) == 3600
    assert running.cost_accumulated_at(clock()) == pytest.approx(0.33 * (3660 + 3600) / 3600, abs=1e-4)
    assert [event.type for event in published(publisher, instance)][-2:] == [
        EventType.STOPPED,
        EventType.STARTED,
    ]
    assert timeline(repository, instance)[-2:] == ["instance.stopped", "instance.started"]


def test_reboot_returns_to_running_without_interrupting_billing(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
    clock: Clock,
) -> None:
    booted = provision()
    instance, machine = booted.instance, booted.machine
    ref = ref_of(instance)
    clock.advance(hours=1)

    assert service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.REBOOT).status == (
        InstanceStatus.REBOOTING
    )
    steps.request_power_action(ref, PowerAction.REBOOT)
    assert provider.power_requests == [("reboot", machine.machine_id)]
    assert steps.check_power_action(ref, PowerAction.REBOOT) == {"state": "pending"}
    machine.comes_up()
    clock.advance(minutes=2)
    assert steps.check_power_action(ref, PowerAction.REBOOT) == {"state": "done"}

    rebooted = stored(repository, instance)
    assert rebooted.status == InstanceStatus.RUNNING
    assert rebooted.running_since == instance.running_since
    clock.advance(hours=1)
    assert rebooted.billed_seconds_at(clock()) == pytest.approx(2 * 3600 + 120)
    assert published(publisher, instance)[-1].type == EventType.REBOOTED


def test_a_power_action_the_provider_never_carries_out_times_out(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    clock: Clock,
) -> None:
    instance = provision().instance
    ref = ref_of(instance)
    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.STOP)
    steps.request_power_action(ref, PowerAction.STOP)

    clock.advance(seconds=299)
    assert steps.check_power_action(ref, PowerAction.STOP) == {"state": "pending"}
    clock.advance(seconds=2)
    with pytest.raises(PowerActionTimedOut, match="did not stop the machine within 300 s"):
        steps.check_power_action(ref, PowerAction.STOP)


def test_a_failed_stop_leaves_the_instance_running_as_the_provider_reports(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
    clock: Clock,
) -> None:
    instance = provision().instance
    ref = ref_of(instance)
    clock.advance(hours=1)
    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.STOP)
    provider.fail_next("stop", ProviderRequestRejected("instance is locked", status_code=400))
    with pytest.raises(ProviderRequestRejected) as caught:
        steps.request_power_action(ref, PowerAction.STOP)
    clock.advance(seconds=5)

    assert steps.fail_power_action(ref, PowerAction.STOP, step_failure(caught.value)) == {"status": "running"}

    reconciled = stored(repository, instance)
    assert reconciled.status == InstanceStatus.RUNNING
    assert reconciled.status_reason == "stop failed: ProviderRequestRejected: instance is locked"
    assert reconciled.running_since == instance.running_since, "still running, still billed"
    assert reconciled.ip_address == instance.ip_address
    event = published(publisher, instance)[-1]
    assert event.type == EventType.ACTION_FAILED
    assert event.details == {"action": "stop", "reason": "ProviderRequestRejected: instance is locked"}
    assert timeline(repository, instance)[-1] == "instance.action_failed"


def test_a_failed_start_leaves_the_instance_stopped_and_unbilled(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    repository: InstanceRepository,
    clock: Clock,
) -> None:
    booted = provision()
    instance, machine = booted.instance, booted.machine
    ref = ref_of(instance)
    clock.advance(hours=1)
    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.STOP)
    machine.status = ProviderMachineStatus.STOPPED
    steps.check_power_action(ref, PowerAction.STOP)
    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.START)
    steps.request_power_action(ref, PowerAction.START)
    clock.advance(seconds=301)
    with pytest.raises(PowerActionTimedOut) as caught:
        steps.check_power_action(ref, PowerAction.START)

    assert steps.fail_power_action(ref, PowerAction.START, step_failure(caught.value)) == {
        "status": "stopped"
    }

    reconciled = stored(repository, instance)
    assert reconciled.status == InstanceStatus.STOPPED
    assert reconciled.status_reason is not None and reconciled.status_reason.startswith(
        "start failed: PowerActionTimedOut"
    )
    clock.advance(hours=5)
    assert reconciled.billed_seconds_at(clock()) == pytest.approx(3600)


def test_a_machine_gone_at_the_provider_during_a_reboot_marks_the_instance_failed(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
    clock: Clock,
) -> None:
    booted = provision(region="us-east")
    instance = booted.instance
    ref = ref_of(instance)
    clock.advance(hours=2)
    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.REBOOT)
    del provider.machines[booted.machine.machine_id]
    with pytest.raises(ProviderMachineNotFound) as caught:
        steps.request_power_action(ref, PowerAction.REBOOT)
    clock.advance(seconds=10)

    assert steps.fail_power_action(ref, PowerAction.REBOOT, step_failure(caught.value)) == {
        "status": "failed"
    }

    failed = stored(repository, instance)
    assert failed.status == InstanceStatus.FAILED
    assert failed.ip_address is None and failed.ssh_port is None
    assert failed.running_since is None
    assert failed.billed_seconds == pytest.approx(2 * 3600 + 10)
    clock.advance(hours=3)
    assert failed.cost_accumulated_at(clock()) == pytest.approx(0.33 * (7210 / 3600), abs=1e-4)


def test_a_failure_reported_after_the_instance_moved_on_changes_nothing(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    repository: InstanceRepository,
) -> None:
    instance = provision().instance
    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.STOP)
    service.delete(PRINCIPAL, instance.instance_id)
    before = stored(repository, instance)

    assert steps.fail_power_action(ref_of(instance), PowerAction.STOP, None) == {"status": "deleting"}
    assert stored(repository, instance) == before


# Deleting ----------------------------------------------------------------------------------------


def test_destroy_machine_marks_the_instance_deleted_with_its_final_cost(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
    starter: RecordingStarter,
    clock: Clock,
) -> None:
    booted = provision(region="us-east")
    instance = booted.instance
    clock.advance(hours=2)
    assert service.delete(PRINCIPAL, instance.instance_id).status == InstanceStatus.DELETING
    assert starter.started[-1][0] == Workflow.DESTROY
    clock.advance(minutes=1)

    result = steps.destroy_machine(ref_of(instance))

    expected_cost = round(0.33 * (2 * 3600 + 60) / 3600, 4)
    assert result == {"final_cost": expected_cost}
    assert provider.machines == {}
    deleted = stored(repository, instance)
    assert deleted.status == InstanceStatus.DELETED
    assert deleted.ip_address is None
    clock.advance(hours=24)
    assert deleted.cost_accumulated_at(clock()) == expected_cost, "nothing is billed after deletion"
    event = published(publisher, instance)[-1]
    assert event.type == EventType.DELETED
    assert event.details == {"final_cost": expected_cost}
    assert timeline(repository, instance)[-1] == "instance.deleted"
    assert repository.list_for_team(PRINCIPAL.team_id) == [], "deleted instances are not listed"


def test_destroy_machine_for_a_machine_the_provider_already_lost_still_deletes(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
) -> None:
    booted = provision()
    service.delete(PRINCIPAL, booted.instance.instance_id)
    provider.fail_next("destroy_machine", ProviderMachineNotFound("gone", status_code=404))

    steps.destroy_machine(ref_of(booted.instance))

    assert stored(repository, booted.instance).status == InstanceStatus.DELETED


# Conditional writes ------------------------------------------------------------------------------


def test_two_conflicting_transitions_the_second_is_refused_and_writes_nothing(
    service: InstanceService, repository: InstanceRepository, clock: Clock
) -> None:
    instance = service.create(PRINCIPAL, spec())
    seen_by_one, seen_by_other = stored(repository, instance), stored(repository, instance)

    repository.transition(
        seen_by_one,
        expected=[InstanceStatus.STARTING],
        changes={"status": InstanceStatus.DELETING, "updated_at": clock.advance(seconds=1)},
    )
    failed = InstanceEvent.of(EventType.FAILED, seen_by_other, reason="boot timed out")
    with pytest.raises(StaleInstanceState):
        repository.transition(
            seen_by_other,
            expected=[InstanceStatus.STARTING],
            changes={
                "status": InstanceStatus.FAILED,
                "status_reason": "x",
                "updated_at": clock.advance(seconds=1),
            },
            events=[failed],
        )

    current = stored(repository, instance)
    assert current.status == InstanceStatus.DELETING
    assert current.status_reason is None
    assert timeline(repository, instance) == ["instance.created"], "the refused change left no event"


def test_a_workflow_step_racing_a_user_request_gives_way(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
) -> None:
    booted = provision()
    instance, machine = booted.instance, booted.machine
    ref = ref_of(instance)
    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.STOP)
    machine.status = ProviderMachineStatus.STOPPED
    # The stop workflow has read the instance when the user deletes it.
    stale = stored(repository, instance)
    service.delete(PRINCIPAL, instance.instance_id)
    published_before = len(publisher.published)

    with pytest.raises(InstanceNoLongerWanted):
        steps._finish(stale, [InstanceStatus.STOPPING], {"status": InstanceStatus.STOPPED}, [])
    with pytest.raises(InstanceNoLongerWanted):
        steps.check_power_action(ref, PowerAction.STOP)

    assert stored(repository, instance).status == InstanceStatus.DELETING
    assert len(publisher.published) == published_before


def test_a_power_action_in_the_wrong_state_is_refused_and_changes_nothing(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    repository: InstanceRepository,
    starter: RecordingStarter,
    clock: Clock,
) -> None:
    instance = provision().instance
    before = stored(repository, instance)
    started_before = list(starter.started)
    clock.advance(minutes=5)

    with pytest.raises(InvalidState) as caught:
        service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.START)

    assert caught.value.http_status == 409
    assert caught.value.details["current_state"] == "running"
    assert caught.value.details["allowed_states"] == ["stopped"]
    assert "Cannot start instance" in caught.value.message
    assert stored(repository, instance) == before
    assert starter.started == started_before
    assert timeline(repository, instance) == ["instance.created", "instance.started", "instance.ready"]


def test_deleting_twice_is_refused(
    provision: Callable[..., Provisioned], service: InstanceService, repository: InstanceRepository
) -> None:
    instance = provision().instance
    service.delete(PRINCIPAL, instance.instance_id)
    before = stored(repository, instance)

    with pytest.raises(InvalidState):
        service.delete(PRINCIPAL, instance.instance_id)
    assert stored(repository, instance) == before


# Starting workflows from the API side ------------------------------------------------------------


def test_create_records_the_instance_and_starts_provisioning(
    service: InstanceService,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
    starter: RecordingStarter,
    clock: Clock,
) -> None:
    instance = service.create(PRINCIPAL, spec(region="eu-central", gpu_type="A100", auto_hibernate=True))

    saved = stored(repository, instance)
    assert saved.status == InstanceStatus.STARTING
    assert saved.created_at == clock()
    assert (saved.gpu_type, saved.region, saved.requested_region) == ("A100", "eu-central", "eu-central")
    assert saved.idle_timeout_minutes == 15
    assert starter.started == [
        (
            Workflow.PROVISION,
            f"{instance.instance_id}-provision",
            {"instance": {"team_id": "team_1", "instance_id": instance.instance_id}},
        )
    ]
    (created,) = published(publisher, instance)
    assert created.type == EventType.CREATED
    assert created.details == {"gpu_type": "A100", "region": "eu-central", "image": "pytorch/pytorch:latest"}
    assert timeline(repository, instance) == ["instance.created"]


def test_create_marks_the_instance_failed_and_answers_503_when_provisioning_cannot_start(
    service: InstanceService,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
    starter: RecordingStarter,
) -> None:
    starter.fail_with = RuntimeError("Step Functions is unavailable")

    with pytest.raises(ServiceUnavailable) as caught:
        service.create(PRINCIPAL, spec())

    assert caught.value.http_status == 503
    assert caught.value.code == "SERVICE_UNAVAILABLE"
    (instance,) = repository.list_for_team(PRINCIPAL.team_id)
    assert instance.status == InstanceStatus.FAILED
    assert instance.status_reason == "provisioning could not be started"
    assert timeline(repository, instance) == ["instance.created", "instance.failed"]
    assert [event.type for event in published(publisher, instance)] == [EventType.CREATED, EventType.FAILED]


def test_a_power_action_whose_workflow_cannot_start_is_undone(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    repository: InstanceRepository,
    starter: RecordingStarter,
) -> None:
    instance = provision().instance
    starter.fail_with = RuntimeError("throttled")

    with pytest.raises(ServiceUnavailable, match="Could not stop the instance"):
        service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.STOP)

    assert stored(repository, instance).status == InstanceStatus.RUNNING


# Known problems ----------------------------------------------------------------------------------


def test_hours_billed_before_a_price_change_keep_their_price(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    repository: InstanceRepository,
    clock: Clock,
) -> None:
    booted = provision(region="us-east")
    instance, machine = booted.instance, booted.machine
    ref = ref_of(instance)
    assert instance.cost_per_hour == pytest.approx(0.33)
    clock.advance(hours=1)
    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.STOP)
    machine.status = ProviderMachineStatus.STOPPED
    steps.check_power_action(ref, PowerAction.STOP)
    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.START)
    # The host now charges more for the same machine.
    machine.price_per_hour = 1.00
    machine.comes_up()
    steps.check_power_action(ref, PowerAction.START)
    clock.advance(hours=1)

    assert stored(repository, instance).cost_accumulated_at(clock()) == pytest.approx(0.33 + 1.00)


def test_a_provider_outage_while_reconciling_a_failed_action_is_retried_not_recorded(
    provision: Callable[..., Provisioned],
    service: InstanceService,
    steps: InstanceWorkflowSteps,
    provider: FakeProvider,
    repository: InstanceRepository,
    clock: Clock,
) -> None:
    instance = provision(region="us-east").instance
    ref = ref_of(instance)
    clock.advance(hours=1)
    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.STOP)
    provider.fail_next("stop", ProviderRequestRejected("instance is locked", status_code=400))
    with pytest.raises(ProviderRequestRejected) as caught:
        steps.request_power_action(ref, PowerAction.STOP)
    provider.fail_next("get_machine", ProviderUnavailable("502 from the provider", status_code=502))

    with pytest.raises(ProviderUnavailable):
        steps.fail_power_action(ref, PowerAction.STOP, step_failure(caught.value))
    assert stored(repository, instance).status == InstanceStatus.STOPPING

    # The retry finds the machine still running.
    assert steps.fail_power_action(ref, PowerAction.STOP, step_failure(caught.value)) == {"status": "running"}


def test_machines_rented_under_our_label_but_never_recorded_are_destroyed(
    service: InstanceService, steps: InstanceWorkflowSteps, provider: FakeProvider
) -> None:
    instance = service.create(PRINCIPAL, spec())
    ref = ref_of(instance)
    candidates = steps.choose_offers(ref)["candidates"]
    # A first create whose answer was lost (a timeout after the provider rented the machine).
    lost = provider.create_machine(
        MachineRequest(
            offer_id=candidates[0]["offer_id"],
            image=instance.image,
            disk_gb=instance.disk_gb,
            label=instance.instance_id,
        )
    )

    rented = steps.rent_machine(ref, candidates[1:])["provider_instance_id"]

    assert lost in provider.destroyed, "the machine nobody recorded is given back"
    assert list(provider.machines) == [rented]

    steps.fail_provisioning(ref, {"Error": "BootTimedOut", "Cause": "{}"})
    assert provider.machines == {}


def test_a_retried_rent_keeps_the_machine_it_recorded(
    service: InstanceService, steps: InstanceWorkflowSteps, provider: FakeProvider
) -> None:
    instance = service.create(PRINCIPAL, spec())
    ref = ref_of(instance)
    candidates = steps.choose_offers(ref)["candidates"]
    # The machine was recorded, then the label sweep failed: the workflow retries the step.
    provider.fail_next("machine_ids_labelled", ProviderUnavailable("listing timed out"))
    with pytest.raises(ProviderUnavailable):
        steps.rent_machine(ref, candidates)
    recorded = list(provider.machines)

    again = steps.rent_machine(ref, candidates)["provider_instance_id"]

    assert [again] == recorded == list(provider.machines), "no second machine is rented"
