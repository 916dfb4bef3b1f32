"""What the serverless routes answer and do: turning the mode on and off, its status, pausing and resuming
by hand, and the refusals, over a real table (moto) and a controllable clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from dumont_core.instances.models import InstanceStatus, PowerAction
from dumont_core.platform.errors import InvalidState
from dumont_core.platform.workflows import Workflow
from dumont_core.serverless.service import ServerlessService
from tests.fakes.workflows import RecordingStarter
from tests.integration.instances.conftest import PRINCIPAL, Cloud
from tests.integration.serverless.conftest import HEARTBEAT_SECONDS, IDLE, idle_for

CHANGEABLE = sorted(state.value for state in InstanceStatus if state.value not in ("deleting", "deleted"))
"""Serverless mode is turned on or off in any state but while the instance is being deleted, or gone."""


def watched(serverless: ServerlessService) -> set[str]:
    return {entry.instance_id for entry in serverless.repository.watched()}


def snapshot_workflows(serverless: ServerlessService) -> RecordingStarter:
    starter = serverless.snapshots.workflows
    assert isinstance(starter, RecordingStarter)
    return starter


def test_turning_serverless_mode_on_answers_with_its_settings_and_the_last_gpu_reading(
    cloud: Cloud, serverless: ServerlessService
) -> None:
    provisioned = cloud.provision()
    instance_id = provisioned.instance.instance_id
    cloud.service.record_heartbeat(PRINCIPAL.team_id, instance_id, {**IDLE, "gpu_utilization": 12.0})
    beat_at = cloud.clock()
    cloud.clock.advance(seconds=3)

    answer = serverless.enable(PRINCIPAL, instance_id, idle_timeout_minutes=30, gpu_threshold=20)

    assert answer.model_dump() == {
        "instance_id": instance_id,
        "enabled": True,
        "idle_timeout_minutes": 30,
        "gpu_threshold": 20,
        "state": "idle",  # 12% is under the 20% asked for
        "gpu_utilization": 12.0,
        "last_heartbeat": beat_at,
    }
    assert serverless.status(PRINCIPAL, instance_id) == answer
    stored = cloud.stored(provisioned.instance)
    assert (stored.auto_hibernate, stored.idle_gpu_threshold, stored.serverless_since) == (
        True,
        20,
        cloud.clock(),
    )
    assert watched(serverless) == {instance_id}

    cloud.service.record_heartbeat(PRINCIPAL.team_id, instance_id, {**IDLE, "gpu_utilization": 20.0})
    assert serverless.status(PRINCIPAL, instance_id).state == "active", "at the threshold it is busy"


def test_turning_serverless_mode_off_answers_that_it_is_off_and_stops_watching_the_instance(
    cloud: Cloud, serverless: ServerlessService
) -> None:
    provisioned = cloud.provision()
    instance_id = provisioned.instance.instance_id
    serverless.enable(PRINCIPAL, instance_id, idle_timeout_minutes=30, gpu_threshold=20)

    answer = serverless.disable(PRINCIPAL, instance_id)

    assert (answer.enabled, answer.idle_timeout_minutes, answer.gpu_threshold, answer.state) == (
        False,
        None,
        None,
        None,
    )
    assert serverless.status(PRINCIPAL, instance_id) == answer
    assert not cloud.stored(provisioned.instance).auto_hibernate
    assert watched(serverless) == set()


@pytest.mark.parametrize(
    ("change", "action"),
    [
        (
            lambda serverless, instance_id: serverless.enable(
                PRINCIPAL, instance_id, idle_timeout_minutes=30, gpu_threshold=20
            ),
            "enable serverless mode on",
        ),
        (
            lambda serverless, instance_id: serverless.disable(PRINCIPAL, instance_id),
            "disable serverless mode on",
        ),
    ],
    ids=["enable", "disable"],
)
def test_an_instance_being_deleted_keeps_its_serverless_mode_and_the_refusal_says_why(
    cloud: Cloud,
    serverless: ServerlessService,
    change: Callable[[ServerlessService, str], Any],
    action: str,
) -> None:
    provisioned = cloud.provision()
    instance_id = provisioned.instance.instance_id
    cloud.delete(provisioned.instance)
    before = cloud.stored(provisioned.instance)

    with pytest.raises(InvalidState) as refused:
        change(serverless, instance_id)

    assert refused.value.details == {
        "instance_id": instance_id,
        "action": action,
        "current_state": "deleting",
        "allowed_states": CHANGEABLE,
    }
    assert f"Cannot {action} instance {instance_id} while it is deleting" in refused.value.message
    after = cloud.stored(provisioned.instance)
    assert (after.auto_hibernate, after.idle_gpu_threshold) == (
        before.auto_hibernate,
        before.idle_gpu_threshold,
    )


@pytest.mark.parametrize(
    ("minutes", "threshold", "reason"),
    [
        (0.25, 5, "Low GPU utilization (<5%) for 15 seconds"),
        (1, 12.5, "Low GPU utilization (<12.5%) for 1 minute"),
        (1.5, 5, "Low GPU utilization (<5%) for 90 seconds"),
        (2, 5, "Low GPU utilization (<5%) for 2 minutes"),
    ],
)
def test_an_instance_idle_for_exactly_its_window_hibernates_saying_why(
    cloud: Cloud, serverless: ServerlessService, minutes: float, threshold: float, reason: str
) -> None:
    provisioned = cloud.provision()
    instance_id = provisioned.instance.instance_id
    serverless.enable(PRINCIPAL, instance_id, idle_timeout_minutes=minutes, gpu_threshold=threshold)
    idle_for(cloud, provisioned, minutes * 60, gpu_utilization=threshold - 0.5)

    assert serverless.check_idle() == [instance_id], "running, and serverless, for exactly the window"

    stored = cloud.stored(provisioned.instance)
    assert (stored.status, stored.status_reason) == (InstanceStatus.HIBERNATING, reason)
    [(workflow, _, payload)] = snapshot_workflows(serverless).started
    assert workflow == Workflow.SNAPSHOT
    assert payload["snapshot"]["reason"] == reason, "the reason it is recorded with once hibernated"
    assert serverless.status(PRINCIPAL, instance_id).state == "hibernating"


def test_an_instance_that_started_running_within_the_window_is_not_hibernated(
    cloud: Cloud, serverless: ServerlessService
) -> None:
    provisioned = cloud.provision()
    instance_id = provisioned.instance.instance_id
    serverless.enable(PRINCIPAL, instance_id, idle_timeout_minutes=0.25, gpu_threshold=5)
    assert serverless.check_idle() == [], "it has only just started running"

    idle_for(cloud, provisioned, 30)
    # Its machine was replaced 10 s ago, as a failover does: the new one has not been idle for 15 s.
    running = cloud.stored(provisioned.instance)
    cloud.service.transition(
        running,
        expected=[InstanceStatus.RUNNING],
        changes={"running_since": cloud.clock() - timedelta(seconds=10)},
    )
    assert serverless.check_idle() == []
    assert cloud.stored(provisioned.instance).status == InstanceStatus.RUNNING

    idle_for(cloud, provisioned, 5)
    assert serverless.check_idle() == [instance_id]


@pytest.mark.parametrize("first_is", ["deleted", "stopping"])
def test_an_instance_not_to_be_hibernated_does_not_stop_the_check_of_the_next(
    cloud: Cloud, serverless: ServerlessService, first_is: str
) -> None:
    instances = [cloud.provision() for _ in range(3)]
    for provisioned in instances:
        serverless.enable(
            PRINCIPAL, provisioned.instance.instance_id, idle_timeout_minutes=0.25, gpu_threshold=5
        )
    by_id = {provisioned.instance.instance_id: provisioned for provisioned in instances}
    first, *others = (by_id[entry.instance_id] for entry in serverless.repository.watched())
    if first_is == "deleted":
        cloud.delete(first.instance)  # checked first, and dropped from the watch list
    else:
        cloud.ask(first.instance, PowerAction.STOP)  # checked first, and left alone: it is not running
    for _ in range(4):
        for provisioned in others:
            cloud.service.record_heartbeat(PRINCIPAL.team_id, provisioned.instance.instance_id, IDLE)
        cloud.clock.advance(seconds=HEARTBEAT_SECONDS)

    assert sorted(serverless.check_idle()) == sorted(
        provisioned.instance.instance_id for provisioned in others
    )
    still_watched = {provisioned.instance.instance_id for provisioned in others}
    if first_is == "stopping":
        still_watched.add(first.instance.instance_id)
    assert watched(serverless) == still_watched


def test_pausing_hibernates_now_and_resuming_wakes_it(cloud: Cloud, serverless: ServerlessService) -> None:
    provisioned = cloud.provision()
    instance_id = provisioned.instance.instance_id
    serverless.enable(PRINCIPAL, instance_id, idle_timeout_minutes=30, gpu_threshold=20)

    paused = serverless.pause(PRINCIPAL, instance_id)

    assert (paused.instance_id, paused.enabled, paused.state) == (instance_id, True, "hibernating")
    stored = cloud.stored(provisioned.instance)
    assert (stored.status, stored.status_reason) == (InstanceStatus.HIBERNATING, "paused")
    [(_, _, payload)] = snapshot_workflows(serverless).started
    cloud.steps.complete_hibernation(provisioned.ref, payload["snapshot"]["snapshot_id"], "paused")
    assert serverless.status(PRINCIPAL, instance_id).state == "hibernated"

    resumed = serverless.resume(PRINCIPAL, instance_id)

    assert (resumed.instance_id, resumed.enabled, resumed.state) == (instance_id, True, "waking")
    assert cloud.stored(provisioned.instance).status == InstanceStatus.WAKING
    assert serverless.status(PRINCIPAL, instance_id) == resumed


def test_resuming_while_it_still_hibernates_names_resume_and_when_it_may(
    cloud: Cloud, serverless: ServerlessService
) -> None:
    provisioned = cloud.provision()
    instance_id = provisioned.instance.instance_id
    serverless.enable(PRINCIPAL, instance_id, idle_timeout_minutes=30, gpu_threshold=20)
    serverless.pause(PRINCIPAL, instance_id)

    with pytest.raises(InvalidState) as refused:
        serverless.resume(PRINCIPAL, instance_id)

    assert refused.value.details == {
        "instance_id": instance_id,
        "action": "resume",
        "current_state": "hibernating",
        "allowed_states": ["hibernated", "interrupted"],
    }
    assert refused.value.message.startswith(f"Cannot resume instance {instance_id} while it is hibernating")
    assert cloud.stored(provisioned.instance).status == InstanceStatus.HIBERNATING


def logged(caplog: pytest.LogCaptureFixture, level: int) -> list[tuple[str, str | None]]:
    """What serverless mode logs at `level` for operators: each message, and the instance it names."""
    return [
        (record.getMessage(), getattr(record, "instance_id", None))
        for record in caplog.records
        if record.levelno == level and record.name.endswith("dumont_core.serverless.service")
    ]


def test_an_idle_instance_whose_snapshot_cannot_start_runs_on_and_the_failure_is_logged_naming_it(
    cloud: Cloud, serverless: ServerlessService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    instances = [cloud.provision() for _ in range(2)]
    ids = sorted(provisioned.instance.instance_id for provisioned in instances)
    for instance_id in ids:
        serverless.enable(PRINCIPAL, instance_id, idle_timeout_minutes=0.25, gpu_threshold=5)
    for _ in range(4):
        for instance_id in ids:
            cloud.service.record_heartbeat(PRINCIPAL.team_id, instance_id, IDLE)
        cloud.clock.advance(seconds=HEARTBEAT_SECONDS)
    snapshot_workflows(serverless).fail_with = RuntimeError("Step Functions is unavailable")

    assert serverless.check_idle() == []

    assert {cloud.stored(provisioned.instance).status for provisioned in instances} == {
        InstanceStatus.RUNNING
    }
    failed = sorted(entry for entry in logged(caplog, logging.ERROR) if entry[0] == "Idle check failed")
    assert failed == [("Idle check failed", instance_id) for instance_id in ids], "each one checked and named"
    assert logged(caplog, logging.INFO) == []

    snapshot_workflows(serverless).fail_with = None
    assert sorted(serverless.check_idle()) == ids
    assert sorted(logged(caplog, logging.INFO)) == [
        ("Hibernating an idle instance", instance_id) for instance_id in ids
    ]
