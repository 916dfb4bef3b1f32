"""Waiting for a rented machine to boot, and giving it back when it does not."""

from __future__ import annotations

import pytest

from dumont_core.instances.models import EventType, InstanceStatus
from dumont_core.instances.step_support import BootTimedOut, MachineFailed
from dumont_core.providers.models import ProviderMachineStatus, ProviderUnavailable
from tests.fakes.workflows import step_failure
from tests.integration.instances.conftest import Cloud, ref_of


def test_check_boot_waits_for_the_machine_then_records_how_to_reach_it(cloud: Cloud) -> None:
    instance = cloud.create(region="us-east")
    ref = ref_of(instance)
    machine_id = cloud.rent(instance)

    cloud.clock.advance(seconds=30)
    assert cloud.steps.check_boot(ref, machine_id) == {"state": "pending"}
    assert cloud.stored(instance).status == InstanceStatus.STARTING
    assert cloud.timeline(instance) == ["instance.created"]

    cloud.provider.machines[machine_id].comes_up(ip="198.51.100.4", ssh_port=41022, jupyter_port=41888)
    booted_at = cloud.clock.advance(seconds=30)
    assert cloud.steps.check_boot(ref, machine_id) == {"state": "running"}

    running = cloud.stored(instance)
    assert running.status == InstanceStatus.RUNNING
    assert (running.ip_address, running.ssh_port, running.jupyter_port) == ("198.51.100.4", 41022, 41888)
    assert running.cost_per_hour == pytest.approx(0.33)
    assert running.running_since == booted_at
    assert cloud.timeline(instance) == ["instance.created", "instance.started", "instance.ready"]
    events = cloud.published(instance)
    assert [event.type for event in events] == [EventType.CREATED, EventType.STARTED, EventType.READY]
    assert events[-1].details == {
        "gpu_type": "RTX_4090",
        "region": "us-east",
        "ip": "198.51.100.4",
        "ssh_port": 41022,
    }

    cloud.clock.advance(minutes=30)
    assert round(running.cost_at(cloud.clock()), 4) == pytest.approx(0.165)
    assert running.uptime_seconds_at(cloud.clock()) == 1800


def test_boot_timeout_fails_provisioning_and_destroys_the_machine(cloud: Cloud) -> None:
    instance = cloud.create()
    ref = ref_of(instance)
    machine_id = cloud.rent(instance)

    cloud.clock.advance(seconds=599)
    assert cloud.steps.check_boot(ref, machine_id) == {"state": "pending"}
    cloud.clock.advance(seconds=2)
    with pytest.raises(BootTimedOut) as caught:
        cloud.steps.check_boot(ref, machine_id)

    assert cloud.steps.fail_provisioning(ref, step_failure(caught.value)) == {"destroyed": machine_id}
    assert cloud.provider.machines == {}
    failed = cloud.stored(instance)
    assert failed.status == InstanceStatus.FAILED
    assert failed.status_reason == "BootTimedOut: The machine was not running after 600 s"
    assert round(failed.cost_at(cloud.clock()), 4) == 0.0, "a machine that never ran is not billed"
    assert cloud.published(instance)[-1].type == EventType.FAILED


def test_a_machine_failing_to_boot_fails_provisioning_with_the_providers_reason(cloud: Cloud) -> None:
    instance = cloud.create()
    ref = ref_of(instance)
    machine_id = cloud.rent(instance)
    cloud.provider.machines[machine_id].status = ProviderMachineStatus.FAILED
    cloud.provider.machines[machine_id].status_message = "image pull failed: manifest unknown"

    with pytest.raises(MachineFailed, match="image pull failed"):
        cloud.steps.check_boot(ref, machine_id)
    failure = step_failure(
        MachineFailed("The machine failed while booting: image pull failed: manifest unknown")
    )

    cloud.steps.fail_provisioning(ref, failure)

    assert cloud.provider.machines == {}
    failed = cloud.stored(instance)
    assert failed.status == InstanceStatus.FAILED
    assert failed.status_reason is not None and "image pull failed: manifest unknown" in failed.status_reason
    assert failed.ip_address is None
    assert cloud.timeline(instance) == ["instance.created", "instance.failed"]
    assert cloud.published(instance)[-1].details["reason"] == failed.status_reason


def test_a_failed_provisioning_whose_machine_the_provider_keeps_leaves_it_to_the_reconciler(
    cloud: Cloud,
) -> None:
    instance = cloud.create()
    ref = ref_of(instance)
    machine_id = cloud.rent(instance)
    cloud.provider.machines[machine_id].status = ProviderMachineStatus.FAILED
    # The provider refuses the destroy even after the client's retries.
    cloud.provider.fail_next("destroy_machine", ProviderUnavailable("502 from the provider", status_code=502))

    cloud.steps.fail_provisioning(ref, step_failure(MachineFailed("The machine failed while booting")))

    failed = cloud.stored(instance)
    assert failed.status == InstanceStatus.FAILED
    assert failed.provider_instance_id is None, "the failed instance no longer holds the machine"
    assert failed.status_reason == (
        "MachineFailed: The machine failed while booting; the provider did not destroy machine "
        f"{machine_id} yet (ProviderUnavailable); it will be destroyed automatically"
    )
    assert machine_id in cloud.provider.machines

    report = cloud.reconciler.reconcile()

    assert report.destroyed == [machine_id]
    assert cloud.provider.machines == {}
    assert cloud.timeline(instance)[-1] == "instance.orphan_destroyed"
