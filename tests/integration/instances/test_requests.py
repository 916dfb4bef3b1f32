"""What the API side does with a user's request: record it and start its workflow, or refuse it whole."""

from __future__ import annotations

import pytest

from dumont_core.instances.models import EventType, InstanceStatus, PowerAction
from dumont_core.platform.errors import InvalidState, ServiceUnavailable
from dumont_core.platform.workflows import Workflow
from tests.integration.instances.conftest import PRINCIPAL, Cloud


def test_create_records_the_instance_and_starts_provisioning(cloud: Cloud) -> None:
    instance = cloud.create(region="eu-central", gpu_type="A100", auto_hibernate=True)

    saved = cloud.stored(instance)
    assert saved.status == InstanceStatus.STARTING
    assert saved.created_at == cloud.clock()
    assert (saved.gpu_type, saved.region, saved.requested_region) == ("A100", "eu-central", "eu-central")
    assert saved.idle_timeout_minutes == 15
    assert cloud.starter.started == [
        (
            Workflow.PROVISION,
            f"{instance.instance_id}-provision",
            {"instance": {"team_id": "team_1", "instance_id": instance.instance_id}},
        )
    ]
    (created,) = cloud.published(instance)
    assert created.type == EventType.CREATED
    assert created.details == {"gpu_type": "A100", "region": "eu-central", "image": "pytorch/pytorch:latest"}
    assert cloud.timeline(instance) == ["instance.created"]


def test_create_marks_the_instance_failed_and_answers_503_when_provisioning_cannot_start(
    cloud: Cloud,
) -> None:
    cloud.starter.fail_with = RuntimeError("Step Functions is unavailable")

    with pytest.raises(ServiceUnavailable) as caught:
        cloud.create()

    assert caught.value.http_status == 503
    assert caught.value.code == "SERVICE_UNAVAILABLE"
    (instance,) = cloud.repository.list_for_team(PRINCIPAL.team_id)
    assert instance.status == InstanceStatus.FAILED
    assert instance.status_reason == "provisioning could not be started"
    assert cloud.timeline(instance) == ["instance.created", "instance.failed"]
    assert [event.type for event in cloud.published(instance)] == [EventType.CREATED, EventType.FAILED]


def test_a_power_action_in_the_wrong_state_is_refused_and_changes_nothing(cloud: Cloud) -> None:
    instance = cloud.provision().instance
    before = cloud.stored(instance)
    started_before = list(cloud.starter.started)
    cloud.clock.advance(minutes=5)

    with pytest.raises(InvalidState) as caught:
        cloud.ask(instance, PowerAction.START)

    assert caught.value.http_status == 409
    assert caught.value.details["current_state"] == "running"
    assert caught.value.details["allowed_states"] == ["stopped"]
    assert "Cannot start instance" in caught.value.message
    assert cloud.stored(instance) == before
    assert cloud.starter.started == started_before
    assert cloud.timeline(instance) == ["instance.created", "instance.started", "instance.ready"]


def test_a_power_action_whose_workflow_cannot_start_is_undone(cloud: Cloud) -> None:
    instance = cloud.provision().instance
    cloud.starter.fail_with = RuntimeError("throttled")

    with pytest.raises(ServiceUnavailable, match="Could not stop the instance"):
        cloud.ask(instance, PowerAction.STOP)

    assert cloud.stored(instance).status == InstanceStatus.RUNNING
