"""Deleting an instance gives its machine back and closes its bill."""

from __future__ import annotations

import pytest

from dumont_core.instances.models import EventType, InstanceStatus
from dumont_core.platform.errors import InvalidState
from dumont_core.platform.workflows import Workflow
from dumont_core.providers.models import ProviderMachineNotFound
from tests.integration.instances.conftest import PRINCIPAL, Cloud, ref_of


def test_destroy_machine_marks_the_instance_deleted_with_its_final_cost(cloud: Cloud) -> None:
    instance = cloud.provision(region="us-east").instance
    cloud.clock.advance(hours=2)
    assert cloud.delete(instance).status == InstanceStatus.DELETING
    assert cloud.starter.started[-1][0] == Workflow.DESTROY
    cloud.clock.advance(minutes=1)

    result = cloud.steps.destroy_machine(ref_of(instance))

    expected_cost = round(0.33 * (2 * 3600 + 60) / 3600, 4)
    assert result == {"final_cost": expected_cost}
    assert cloud.provider.machines == {}
    deleted = cloud.stored(instance)
    assert deleted.status == InstanceStatus.DELETED
    assert deleted.ip_address is None
    cloud.clock.advance(hours=24)
    assert round(deleted.cost_at(cloud.clock()), 4) == expected_cost, "nothing is billed after deletion"
    event = cloud.published(instance)[-1]
    assert event.type == EventType.DELETED
    assert event.details == {"final_cost": expected_cost}
    assert cloud.timeline(instance)[-1] == "instance.deleted"
    assert cloud.repository.list_for_team(PRINCIPAL.team_id) == [], "deleted instances are not listed"


def test_destroy_machine_for_a_machine_the_provider_already_lost_still_deletes(cloud: Cloud) -> None:
    instance = cloud.provision().instance
    cloud.delete(instance)
    cloud.provider.fail_next("destroy_machine", ProviderMachineNotFound("gone", status_code=404))

    cloud.steps.destroy_machine(ref_of(instance))

    assert cloud.stored(instance).status == InstanceStatus.DELETED


def test_deleting_twice_is_refused(cloud: Cloud) -> None:
    instance = cloud.provision().instance
    cloud.delete(instance)
    before = cloud.stored(instance)

    with pytest.raises(InvalidState):
        cloud.delete(instance)
    assert cloud.stored(instance) == before
