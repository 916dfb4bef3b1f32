"""The user acts while a workflow runs: the table's conditional writes let one of them win, whole."""

from __future__ import annotations

import pytest

from dumont_core.instances.models import (
    EventType,
    InstanceEvent,
    InstanceStatus,
    PowerAction,
    StaleInstanceState,
)
from dumont_core.instances.step_support import InstanceNoLongerWanted
from dumont_core.platform.workflows import Workflow
from dumont_core.providers.models import ProviderMachineStatus
from tests.integration.instances.conftest import Cloud, ref_of


def test_two_conflicting_transitions_the_second_is_refused_and_writes_nothing(cloud: Cloud) -> None:
    instance = cloud.create()
    seen_by_one, seen_by_other = cloud.stored(instance), cloud.stored(instance)

    cloud.repository.transition(
        seen_by_one,
        expected=[InstanceStatus.STARTING],
        changes={"status": InstanceStatus.DELETING, "updated_at": cloud.clock.advance(seconds=1)},
    )
    failed = InstanceEvent.of(EventType.FAILED, seen_by_other, reason="boot timed out")
    with pytest.raises(StaleInstanceState):
        cloud.repository.transition(
            seen_by_other,
            expected=[InstanceStatus.STARTING],
            changes={
                "status": InstanceStatus.FAILED,
                "status_reason": "x",
                "updated_at": cloud.clock.advance(seconds=1),
            },
            events=[failed],
        )

    current = cloud.stored(instance)
    assert current.status == InstanceStatus.DELETING
    assert current.status_reason is None
    assert cloud.timeline(instance) == ["instance.created"], "the refused change left no event"


def test_a_workflow_step_racing_a_user_request_gives_way(cloud: Cloud) -> None:
    booted = cloud.provision()
    instance = booted.instance
    cloud.ask(instance, PowerAction.STOP)
    booted.machine.status = ProviderMachineStatus.STOPPED
    # The stop workflow has read the instance when the user deletes it.
    stale = cloud.stored(instance)
    cloud.delete(instance)
    published_before = len(cloud.publisher.published)

    with pytest.raises(InstanceNoLongerWanted):
        cloud.steps._finish(stale, [InstanceStatus.STOPPING], {"status": InstanceStatus.STOPPED}, [])
    with pytest.raises(InstanceNoLongerWanted):
        cloud.steps.check_power_action(ref_of(instance), PowerAction.STOP)

    assert cloud.stored(instance).status == InstanceStatus.DELETING
    assert len(cloud.publisher.published) == published_before


def test_a_failure_reported_after_the_instance_moved_on_changes_nothing(cloud: Cloud) -> None:
    instance = cloud.provision().instance
    cloud.ask(instance, PowerAction.STOP)
    cloud.delete(instance)
    before = cloud.stored(instance)

    assert cloud.steps.fail_power_action(ref_of(instance), PowerAction.STOP, None) == {"status": "deleting"}
    assert cloud.stored(instance) == before


def test_choose_offers_for_an_instance_deleted_meanwhile_ends_the_workflow(cloud: Cloud) -> None:
    instance = cloud.create()
    cloud.delete(instance)

    with pytest.raises(InstanceNoLongerWanted):
        cloud.candidates(instance)
    assert cloud.provider.searches == []


def test_a_machine_rented_for_an_instance_deleted_meanwhile_is_destroyed(cloud: Cloud) -> None:
    instance = cloud.create()
    candidates = cloud.candidates(instance)
    # The user deletes the instance while the provider is creating its machine.
    cloud.provider.on_create = lambda _machine_id: cloud.delete(instance)

    with pytest.raises(InstanceNoLongerWanted):
        cloud.steps.rent_machine(ref_of(instance), candidates)

    assert cloud.provider.machines == {}, "no orphan machine is left at the provider"
    assert len(cloud.provider.destroyed) == 1
    assert cloud.starter.started[-1][0] == Workflow.DESTROY
    assert cloud.steps.destroy_machine(ref_of(instance)) == {"final_cost": 0.0}
    assert cloud.stored(instance).status == InstanceStatus.DELETED


def test_a_machine_recorded_before_the_instance_was_deleted_is_destroyed_by_the_delete(cloud: Cloud) -> None:
    instance = cloud.create()
    machine_id = cloud.rent(instance)
    cloud.delete(instance)

    with pytest.raises(InstanceNoLongerWanted):
        cloud.steps.check_boot(ref_of(instance), machine_id)
    cloud.steps.destroy_machine(ref_of(instance))

    assert cloud.provider.machines == {}
    assert cloud.provider.destroyed == [machine_id]
    assert cloud.stored(instance).status == InstanceStatus.DELETED
