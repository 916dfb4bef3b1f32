"""Hibernating, waking, and failing over from the last snapshot, as the snapshot service starts them,
against a real table (moto): what the instance shows, which workflow starts with what, the events on its
timeline, and the refusals."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from dumont_core.instances.models import Instance, InstanceStatus
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.service import InstanceService
from dumont_core.platform.errors import InvalidState, ServiceUnavailable
from dumont_core.platform.workflows import Workflow
from dumont_core.snapshots.service import SnapshotService
from tests.fakes.clock import Clock
from tests.fakes.events import InMemoryPublisher
from tests.fakes.workflows import RecordingStarter
from tests.integration.snapshots.conftest import OWNER, TEAM, logged

LAST_SNAPSHOT_ID = "snap_00000000000000cc"


def moved(instances: InstanceService, instance: Instance, **changes: Any) -> Instance:
    """The instance moved on by whatever else drives it (a workflow, an interruption)."""
    current = instances.find(instance.team_id, instance.instance_id)
    assert current is not None
    return instances.transition(current, expected=[current.status], changes=changes)


def asleep(
    instances: InstanceService, instance: Instance, status: InstanceStatus, reason: str = ""
) -> Instance:
    """Its machine given back, its workspace in its last snapshot."""
    return moved(
        instances,
        instance,
        status=status,
        status_reason=reason or None,
        last_snapshot_id=LAST_SNAPSHOT_ID,
        provider_instance_id=None,
    )


def timeline(repository: InstanceRepository, instance: Instance) -> list[tuple[str, dict[str, Any]]]:
    return [(event.type.value, event.details) for event in repository.list_events(instance.instance_id)][1:]


def test_hibernating_snapshots_the_workspace_first_saying_why(
    service: SnapshotService,
    instances: InstanceService,
    starter: RecordingStarter,
    instance: Instance,
    clock: Clock,
) -> None:
    clock.advance(minutes=7)

    hibernating, snapshot = service.hibernate(OWNER, instance.instance_id, "paused")

    assert (hibernating.status, hibernating.status_reason) == (InstanceStatus.HIBERNATING, "paused")
    assert instances.find(TEAM, instance.instance_id) == hibernating
    assert (snapshot.name, snapshot.compression, snapshot.purpose, snapshot.status) == (
        f"hibernation {clock():%Y-%m-%d %H:%M}",
        "lz4",
        "hibernate",
        "compressing",
    )
    assert snapshot.name == "hibernation 2025-03-01 12:07"
    assert starter.started == [
        (
            Workflow.SNAPSHOT,
            f"{snapshot.snapshot_id}-snapshot",
            {
                "instance": {"team_id": TEAM, "instance_id": instance.instance_id},
                "snapshot": {
                    "snapshot_id": snapshot.snapshot_id,
                    "compression": "lz4",
                    "purpose": "hibernate",
                    "reason": "paused",
                },
            },
        )
    ]


def test_only_a_running_instance_hibernates(
    service: SnapshotService, instances: InstanceService, starter: RecordingStarter, instance: Instance
) -> None:
    moved(instances, instance, status=InstanceStatus.STOPPED)

    with pytest.raises(InvalidState) as refused:
        service.hibernate(OWNER, instance.instance_id, "paused")

    assert refused.value.details == {
        "instance_id": instance.instance_id,
        "action": "hibernate",
        "current_state": "stopped",
        "allowed_states": ["running"],
    }
    assert service.list_snapshots(OWNER) == []
    assert starter.started == []


def test_a_hibernation_whose_snapshot_cannot_start_leaves_the_machine_running_and_asks_to_try_again(
    service: SnapshotService, instances: InstanceService, starter: RecordingStarter, instance: Instance
) -> None:
    starter.fail_with = RuntimeError("Step Functions is unavailable")

    with pytest.raises(ServiceUnavailable, match=r"^The snapshot could not be started"):
        service.hibernate(OWNER, instance.instance_id, "paused")

    running = instances.find(TEAM, instance.instance_id)
    assert running is not None and (running.status, running.status_reason) == (InstanceStatus.RUNNING, None)


@pytest.mark.parametrize("status", [InstanceStatus.HIBERNATED, InstanceStatus.INTERRUPTED])
def test_waking_rents_a_new_machine_for_the_last_snapshot_forgetting_the_old_one(
    service: SnapshotService,
    instances: InstanceService,
    starter: RecordingStarter,
    repository: InstanceRepository,
    instance: Instance,
    status: InstanceStatus,
) -> None:
    instances.record_heartbeat(TEAM, instance.instance_id, {"gpu_utilization": 3.0})
    asleep(instances, instance, status, reason="Low GPU utilization (<5%) for 15 minutes")

    waking = service.wake(OWNER, instance.instance_id)

    assert waking.status == InstanceStatus.WAKING
    assert (waking.status_reason, waking.provider_instance_id, waking.last_heartbeat_at) == (None, None, None)
    assert waking.failing_over_since is None, "a wake asked for is no failover"
    assert instances.find(TEAM, instance.instance_id) == waking
    [(workflow, name, payload)] = starter.started
    assert workflow == Workflow.WAKE
    assert re.fullmatch(rf"{instance.instance_id}-wake-[0-9a-f]{{8}}", name), name
    assert payload == {
        "instance": {"team_id": TEAM, "instance_id": instance.instance_id},
        "snapshot": {"snapshot_id": LAST_SNAPSHOT_ID},
    }
    assert timeline(repository, instance) == []


@pytest.mark.parametrize(
    ("status", "last_snapshot_id"),
    [
        (InstanceStatus.RUNNING, LAST_SNAPSHOT_ID),
        (InstanceStatus.STOPPED, LAST_SNAPSHOT_ID),
        ("hibernated", None),
    ],
)
def test_only_an_instance_asleep_with_a_snapshot_to_wake_from_wakes(
    service: SnapshotService,
    instances: InstanceService,
    starter: RecordingStarter,
    instance: Instance,
    status: str,
    last_snapshot_id: str | None,
) -> None:
    moved(instances, instance, status=InstanceStatus(status), last_snapshot_id=last_snapshot_id)

    with pytest.raises(InvalidState) as refused:
        service.wake(OWNER, instance.instance_id)

    assert refused.value.details == {
        "instance_id": instance.instance_id,
        "action": "wake",
        "current_state": status,
        "allowed_states": ["hibernated", "interrupted"],
    }
    assert starter.started == []


def test_a_wake_that_cannot_start_leaves_it_asleep_and_asks_to_try_again(
    service: SnapshotService,
    instances: InstanceService,
    starter: RecordingStarter,
    instance: Instance,
    caplog: pytest.LogCaptureFixture,
) -> None:
    asleep(instances, instance, InstanceStatus.HIBERNATED, reason="paused")
    starter.fail_with = RuntimeError("Step Functions is unavailable")

    with pytest.raises(ServiceUnavailable, match=r"^Waking could not be started; please try again$"):
        service.wake(OWNER, instance.instance_id)

    assert logged(caplog, logging.ERROR) == [
        ("Could not start waking", {"instance_id": instance.instance_id})
    ]

    stored = instances.find(TEAM, instance.instance_id)
    assert stored is not None and stored.status == InstanceStatus.HIBERNATED


def test_an_interrupted_instance_fails_over_onto_a_new_machine_from_its_last_snapshot(
    service: SnapshotService,
    instances: InstanceService,
    starter: RecordingStarter,
    repository: InstanceRepository,
    publisher: InMemoryPublisher,
    instance: Instance,
    clock: Clock,
) -> None:
    interrupted = asleep(instances, instance, InstanceStatus.INTERRUPTED, "interrupted (host_offline): gone")
    clock.advance(seconds=40)

    waking = service.recover(interrupted)

    assert waking is not None
    assert (waking.status, waking.failing_over_since) == (InstanceStatus.WAKING, clock())
    started = ("failover.started", {"strategy": "snapshot", "snapshot_id": LAST_SNAPSHOT_ID})
    assert timeline(repository, instance) == [started]
    assert [(event.type.value, event.details) for event in publisher.published][-1] == started
    [(workflow, _, payload)] = starter.started
    assert (workflow, payload["snapshot"]) == (Workflow.WAKE, {"snapshot_id": LAST_SNAPSHOT_ID})


def test_an_instance_without_a_snapshot_cannot_fail_over_and_its_timeline_says_why(
    service: SnapshotService,
    instances: InstanceService,
    starter: RecordingStarter,
    repository: InstanceRepository,
    instance: Instance,
) -> None:
    interrupted = moved(instances, instance, status=InstanceStatus.INTERRUPTED)

    assert service.recover(interrupted) is None

    assert timeline(repository, instance) == [
        ("failover.failed", {"reason": "no completed snapshot to recover the workspace from"})
    ]
    assert starter.started == []


def test_a_failover_that_cannot_start_leaves_it_interrupted_and_its_timeline_says_why(
    service: SnapshotService,
    instances: InstanceService,
    starter: RecordingStarter,
    repository: InstanceRepository,
    instance: Instance,
    caplog: pytest.LogCaptureFixture,
) -> None:
    interrupted = asleep(instances, instance, InstanceStatus.INTERRUPTED, "interrupted (host_offline): gone")
    starter.fail_with = RuntimeError("Step Functions is unavailable")

    assert service.recover(interrupted) is None

    stored = instances.find(TEAM, instance.instance_id)
    assert stored is not None
    assert (stored.status, stored.failing_over_since) == (InstanceStatus.INTERRUPTED, None)
    assert timeline(repository, instance)[-1] == (
        "failover.failed",
        {"reason": "Waking could not be started; please try again"},
    )
    assert logged(caplog, logging.WARNING) == [
        (
            "Could not fail over",
            {"instance_id": instance.instance_id, "why": "Waking could not be started; please try again"},
        )
    ]
