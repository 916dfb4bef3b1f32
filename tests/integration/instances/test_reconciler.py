"""The reconciler: every machine rented under our labels is held against its instance's record, and
what nobody owns any more is destroyed, however long the provider refuses."""

from __future__ import annotations

import pytest

from dumont_core.instances.machine_labels import machine_label
from dumont_core.instances.models import EventType, Instance, InstanceStatus
from dumont_core.instances.service import UNKNOWN_ACCOUNT
from dumont_core.instances.step_support import InstanceNoLongerWanted
from dumont_core.providers.models import MachineRequest, ProviderMachineNotFound, ProviderUnavailable
from tests.fakes.workflows import step_failure
from tests.integration.instances.conftest import PRINCIPAL, Cloud, ref_of


def rent_directly(cloud: Cloud, label: str, offer_id: int = 2) -> str:
    """A machine rented behind the workflows' back, as a lost or retried create leaves one."""
    return cloud.provider.create_machine(
        MachineRequest(offer_id=offer_id, image="pytorch/pytorch:latest", disk_gb=100, label=label)
    )


def orphan_events(cloud: Cloud, instance: Instance) -> list[dict[str, object]]:
    return [event.details for event in cloud.published(instance) if event.type == EventType.ORPHAN_DESTROYED]


def test_a_machine_of_a_deleted_instance_is_destroyed_with_how_long_it_lived_and_what_it_cost(
    cloud: Cloud,
) -> None:
    instance = cloud.create()
    cloud.delete(instance)
    cloud.steps.destroy_machine(ref_of(instance))
    machine_id = rent_directly(cloud, cloud.label(instance))
    cloud.clock.advance(minutes=30)

    report = cloud.reconciler.reconcile()

    assert report.destroyed == [machine_id] and report.left == []
    assert cloud.provider.machines == {}
    # Offer 2, rented on demand at $0.50 an hour, for half an hour.
    assert orphan_events(cloud, instance) == [
        {"machine_id": machine_id, "reason": "its instance is deleted", "lived_seconds": 1800, "cost": 0.25}
    ]
    assert cloud.timeline(instance)[-1] == "instance.orphan_destroyed"


def test_a_machine_whose_instance_does_not_exist_is_destroyed_and_told_to_its_team(cloud: Cloud) -> None:
    machine_id = rent_directly(cloud, machine_label("dumont", "team_1", "inst_00000000deadbeef"))

    assert cloud.reconciler.reconcile().destroyed == [machine_id]

    (event,) = cloud.publisher.published
    assert event.type == EventType.ORPHAN_DESTROYED
    assert (event.team_id, event.account_id, event.instance_id) == (
        "team_1",
        UNKNOWN_ACCOUNT,
        "inst_00000000deadbeef",
    )
    assert event.details["reason"] == "its instance is unknown"


@pytest.mark.parametrize(
    "label",
    [
        "",
        "inst_0123456789abcdef",
        "my own machine",
        "dumont-staging:team_1:inst_0123456789abcdef",
        "dumont:team_1",
    ],
)
def test_machines_that_are_not_this_deployments_are_never_touched(cloud: Cloud, label: str) -> None:
    machine_id = rent_directly(cloud, label)

    report = cloud.reconciler.reconcile()

    assert report.sighted == 0
    assert machine_id in cloud.provider.machines
    assert cloud.publisher.published == []


def test_an_instances_own_machine_stays_and_a_stray_one_beside_it_goes(cloud: Cloud) -> None:
    provisioned = cloud.provision()
    stray = rent_directly(cloud, cloud.label(provisioned.instance), offer_id=6)

    report = cloud.reconciler.reconcile()

    assert report.sighted == 2
    assert report.destroyed == [stray]
    assert list(cloud.provider.machines) == [provisioned.machine.machine_id]
    assert cloud.stored(provisioned.instance).status == InstanceStatus.RUNNING
    assert orphan_events(cloud, provisioned.instance)[0]["reason"] == "its instance is running without it"


def test_a_machine_being_rented_is_left_to_the_renting_step(cloud: Cloud) -> None:
    instance = cloud.create()
    # The provider rented it; the step has not recorded it yet.
    machine_id = rent_directly(cloud, cloud.label(instance))

    assert cloud.reconciler.reconcile().destroyed == []
    assert machine_id in cloud.provider.machines


def test_an_orphan_the_provider_will_not_destroy_is_destroyed_by_a_later_pass(cloud: Cloud) -> None:
    instance = cloud.create()
    cloud.delete(instance)
    cloud.steps.destroy_machine(ref_of(instance))
    machine_id = rent_directly(cloud, cloud.label(instance))
    cloud.provider.fail_next("destroy_machine", ProviderUnavailable("Vast.ai answered 500"))

    first = cloud.reconciler.reconcile()

    assert (first.destroyed, first.left) == ([], [machine_id])
    assert orphan_events(cloud, instance) == []

    second = cloud.reconciler.reconcile()

    assert (second.destroyed, second.left) == ([machine_id], [])
    assert cloud.provider.machines == {}


def test_an_orphan_a_workflow_destroyed_meanwhile_is_not_reported_again(cloud: Cloud) -> None:
    instance = cloud.create()
    cloud.delete(instance)
    cloud.steps.destroy_machine(ref_of(instance))
    rent_directly(cloud, cloud.label(instance))
    cloud.provider.fail_next("get_machine", ProviderMachineNotFound("gone", status_code=404))

    assert cloud.reconciler.reconcile().destroyed == []
    assert orphan_events(cloud, instance) == []


def test_a_machine_rented_for_an_instance_deleted_meanwhile_is_left_to_the_reconciler_when_it_resists(
    cloud: Cloud,
) -> None:
    instance = cloud.create()
    candidates = cloud.candidates(instance)
    cloud.provider.on_create = lambda _machine_id: cloud.delete(instance)
    refusal = ProviderUnavailable("Vast.ai answered 500")
    cloud.provider.fail_next("destroy_machine", refusal)

    with pytest.raises(InstanceNoLongerWanted):
        cloud.steps.rent_machine(ref_of(instance), candidates)

    (machine_id,) = cloud.provider.machines
    assert cloud.stored(instance).status_reason == (
        f"the provider did not destroy machine {machine_id} yet (ProviderUnavailable); "
        "it will be destroyed automatically"
    )
    # The delete's own sweep is refused too, however often the workflow retries it.
    cloud.provider.fail_next("destroy_machine", refusal)
    with pytest.raises(ProviderUnavailable):
        cloud.steps.destroy_machine(ref_of(instance))
    cloud.steps.fail_destroy(ref_of(instance), step_failure(refusal))

    deleted = cloud.stored(instance)
    assert deleted.status == InstanceStatus.DELETED
    assert deleted.status_reason == (
        "the provider did not destroy a machine rented for it yet "
        "(ProviderUnavailable: Vast.ai answered 500); it will be destroyed automatically"
    )

    assert cloud.reconciler.reconcile().destroyed == [machine_id]
    assert cloud.provider.machines == {}


def test_a_delete_the_provider_refuses_completes_and_leaves_the_machine_to_the_reconciler(
    cloud: Cloud,
) -> None:
    provisioned = cloud.provision()
    cloud.delete(provisioned.instance)
    cloud.clock.advance(hours=1)

    result = cloud.steps.fail_destroy(
        provisioned.ref, step_failure(ProviderUnavailable("Vast.ai answered 502", status_code=502))
    )

    deleted = cloud.stored(provisioned.instance)
    assert deleted.status == InstanceStatus.DELETED
    assert result == {"final_cost": round(deleted.cost_at(cloud.clock()), 4)}
    cloud.clock.advance(hours=5)
    assert round(deleted.cost_at(cloud.clock()), 4) == result["final_cost"], "nothing is billed after"
    assert deleted.status_reason is not None
    assert f"machine {provisioned.machine.machine_id}" in deleted.status_reason
    assert deleted.status_reason.endswith("it will be destroyed automatically")
    assert cloud.timeline(provisioned.instance)[-1] == "instance.deleted"
    assert cloud.repository.list_for_team(PRINCIPAL.team_id) == []

    assert cloud.reconciler.reconcile().destroyed == [provisioned.machine.machine_id]
    assert cloud.provider.machines == {}
