"""What a user's snapshot requests record, start and answer, and how they are refused, against a real table
and bucket (moto): taking one, finding, listing, deleting and restoring them, and a snapshot failing."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from dumont_core.instances.models import EventType, Instance, InstanceEvent, InstanceStatus
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.service import InstanceService
from dumont_core.platform.errors import Conflict, InvalidState, NotFound, ServiceUnavailable
from dumont_core.platform.workflows import Workflow
from dumont_core.snapshots.models import Snapshot
from dumont_core.snapshots.service import SnapshotService
from dumont_core.snapshots.store import SnapshotStore
from tests.fakes.clock import Clock
from tests.fakes.events import InMemoryPublisher
from tests.fakes.workflows import RecordingStarter
from tests.integration.snapshots.conftest import (
    BUCKET,
    OTHER_INSTANCE_ID,
    OWNER,
    TEAM,
    logged,
    stored_snapshot,
)


def moved(instances: InstanceService, instance: Instance, **changes: Any) -> Instance:
    """The instance moved on by whatever else drives it (a power action, a workflow)."""
    current = instances.find(instance.team_id, instance.instance_id)
    assert current is not None
    return instances.transition(current, expected=[current.status], changes=changes)


def test_a_snapshot_asked_for_is_recorded_as_being_taken_and_its_workflow_started(
    service: SnapshotService,
    instances: InstanceService,
    starter: RecordingStarter,
    instance: Instance,
    clock: Clock,
) -> None:
    instances.record_heartbeat(
        TEAM, instance.instance_id, {"gpu_utilization": 3.0, "workspace_bytes": 123456789}
    )
    clock.advance(minutes=5)

    snapshot = service.create(OWNER, instance.instance_id, "before the upgrade", "zstd")

    assert snapshot.snapshot_id.startswith("snap_") and len(snapshot.snapshot_id) == len("snap_") + 16
    assert snapshot.model_dump(exclude={"snapshot_id"}) == Snapshot(
        snapshot_id=snapshot.snapshot_id,
        instance_id=instance.instance_id,
        account_id=instance.account_id,
        team_id=TEAM,
        name="before the upgrade",
        compression="zstd",
        purpose="manual",
        status="compressing",
        estimated_bytes=123456789,
        created_at=clock(),
        updated_at=clock(),
    ).model_dump(exclude={"snapshot_id"})
    assert service.get(OWNER, snapshot.snapshot_id) == snapshot
    assert starter.started == [
        (
            Workflow.SNAPSHOT,
            f"{snapshot.snapshot_id}-snapshot",
            {
                "instance": {"team_id": TEAM, "instance_id": instance.instance_id},
                "snapshot": {"snapshot_id": snapshot.snapshot_id, "compression": "zstd", "purpose": "manual"},
            },
        )
    ]


def test_a_snapshot_of_an_instance_whose_size_is_not_known_yet_has_no_estimate(
    service: SnapshotService, instance: Instance
) -> None:
    assert service.create(OWNER, instance.instance_id, None, "lz4").estimated_bytes is None


@pytest.mark.parametrize("status", [InstanceStatus.STOPPED, InstanceStatus.HIBERNATED])
def test_only_a_running_instance_is_snapshotted(
    service: SnapshotService,
    instances: InstanceService,
    starter: RecordingStarter,
    instance: Instance,
    status: InstanceStatus,
) -> None:
    moved(instances, instance, status=status)

    with pytest.raises(InvalidState) as refused:
        service.create(OWNER, instance.instance_id, None, "lz4")

    assert refused.value.details == {
        "instance_id": instance.instance_id,
        "action": "snapshot",
        "current_state": status.value,
        "allowed_states": ["running"],
    }
    assert service.list_snapshots(OWNER) == []
    assert starter.started == []


def test_a_checkpoint_is_a_snapshot_nobody_asked_for_and_one_under_way_starts_no_workflow(
    service: SnapshotService, starter: RecordingStarter, instance: Instance
) -> None:
    checkpoint = service.checkpoint(instance, "zstd")
    begun = service.begin_checkpoint(instance)

    assert (checkpoint.name, checkpoint.purpose, checkpoint.compression) == (
        "checkpoint",
        "checkpoint",
        "zstd",
    )
    assert (begun.name, begun.purpose, begun.compression, begun.status) == (
        "checkpoint",
        "checkpoint",
        "lz4",
        "compressing",
    )
    assert {snapshot.snapshot_id for snapshot in service.list_snapshots(OWNER)} == {
        checkpoint.snapshot_id,
        begun.snapshot_id,
    }
    [(workflow, name, payload)] = starter.started
    assert (workflow, name) == (Workflow.SNAPSHOT, f"{checkpoint.snapshot_id}-snapshot")
    assert payload["snapshot"] == {
        "snapshot_id": checkpoint.snapshot_id,
        "compression": "zstd",
        "purpose": "checkpoint",
    }


def test_a_snapshot_of_another_team_or_none_at_all_is_not_found(service: SnapshotService, s3: Any) -> None:
    stored_snapshot(OTHER_INSTANCE_ID, "completed", "snap_of_another_team", team_id="team_other")

    for snapshot_id in ("snap_of_another_team", "snap_never_taken"):
        with pytest.raises(NotFound) as refused:
            service.get(OWNER, snapshot_id)
        assert refused.value.code == "SNAPSHOT_NOT_FOUND"
        assert refused.value.message == f"Snapshot {snapshot_id} not found"
        assert refused.value.details == {"snapshot_id": snapshot_id}


def test_the_snapshots_listed_are_the_teams_or_one_instances_and_only_completed_ones_count_as_stored(
    service: SnapshotService, s3: Any
) -> None:
    stored_snapshot("inst_00000000000000aa", "completed", "snap_a1", stored_bytes=1000)
    stored_snapshot("inst_00000000000000aa", "uploading", "snap_a2", stored_bytes=50)
    stored_snapshot(OTHER_INSTANCE_ID, "completed", "snap_b1", stored_bytes=300)
    stored_snapshot(OTHER_INSTANCE_ID, "completed", "snap_b2")  # completed before sizes were recorded
    stored_snapshot(OTHER_INSTANCE_ID, "failed", "snap_b3", stored_bytes=70)
    stored_snapshot(
        OTHER_INSTANCE_ID, "completed", "snap_other_team", stored_bytes=9999, team_id="team_other"
    )

    listed = {snapshot.snapshot_id for snapshot in service.list_snapshots(OWNER)}
    of_one = {snapshot.snapshot_id for snapshot in service.list_snapshots(OWNER, OTHER_INSTANCE_ID)}

    assert listed == {"snap_a1", "snap_a2", "snap_b1", "snap_b2", "snap_b3"}
    assert of_one == {"snap_b1", "snap_b2", "snap_b3"}
    assert service.stored_bytes(TEAM) == 1300


def test_a_snapshot_being_taken_is_not_deleted_and_the_refusal_says_so(
    service: SnapshotService, s3: Any
) -> None:
    stored_snapshot("inst_00000000000000aa", "verifying", "snap_busy")

    with pytest.raises(Conflict) as refused:
        service.delete(OWNER, "snap_busy")

    assert refused.value.message == (
        "Snapshot snap_busy is still being taken; delete it once it is completed or failed"
    )
    assert refused.value.details == {"snapshot_id": "snap_busy", "status": "verifying"}


def test_a_deleted_snapshot_takes_its_digest_list_and_manifest_with_it(
    service: SnapshotService, s3: Any
) -> None:
    stored_snapshot(OTHER_INSTANCE_ID, "completed", "snap_old")  # of an instance deleted since
    store = SnapshotStore(BUCKET)
    store.put_digests(TEAM, "snap_old", ["d1"])
    s3.put_object(Bucket=BUCKET, Key=store.manifest_key(TEAM, "snap_old"), Body=b"{}")

    assert service.delete(OWNER, "snap_old").snapshot_id == "snap_old"

    assert store.digests(TEAM, "snap_old") is None
    assert not store.manifest_exists(TEAM, "snap_old")
    assert service.list_snapshots(OWNER) == []


def test_the_snapshot_holding_a_hibernated_workspace_is_kept_and_the_refusal_says_what_to_do(
    service: SnapshotService, instances: InstanceService, instance: Instance
) -> None:
    stored_snapshot(instance.instance_id, "completed", "snap_workspace")
    moved(instances, instance, status=InstanceStatus.HIBERNATED, last_snapshot_id="snap_workspace")

    with pytest.raises(Conflict) as refused:
        service.delete(OWNER, "snap_workspace")

    assert refused.value.message == (
        f"Snapshot snap_workspace holds the workspace of hibernated instance {instance.instance_id}; "
        "wake or delete the instance first"
    )


def test_a_restore_goes_onto_the_instance_asked_for_or_else_the_one_the_snapshot_is_of(
    service: SnapshotService, starter: RecordingStarter, instance: Instance, repository: InstanceRepository
) -> None:
    other = instance.model_copy(update={"instance_id": OTHER_INSTANCE_ID})
    repository.create(other, InstanceEvent.of(EventType.CREATED, other))
    stored_snapshot(instance.instance_id, "completed", "snap_done")

    assert service.restore(OWNER, "snap_done").snapshot_id == "snap_done"
    assert service.restore(OWNER, "snap_done", OTHER_INSTANCE_ID).snapshot_id == "snap_done"

    onto = [
        (workflow, name.rsplit("-", 1)[0], payload["instance"]) for workflow, name, payload in starter.started
    ]
    assert onto == [
        (
            Workflow.RESTORE,
            f"{instance.instance_id}-restore",
            {"team_id": TEAM, "instance_id": instance.instance_id},
        ),
        (
            Workflow.RESTORE,
            f"{OTHER_INSTANCE_ID}-restore",
            {"team_id": TEAM, "instance_id": OTHER_INSTANCE_ID},
        ),
    ]
    assert {payload["snapshot"]["snapshot_id"] for _, _, payload in starter.started} == {"snap_done"}
    for _, name, _ in starter.started:  # its own execution, its name within Step Functions' 80 characters
        assert re.fullmatch(r"inst_[0-9a-f]{16}-restore-[0-9a-f]{8}", name), name
    assert len({name for _, name, _ in starter.started}) == 2


def test_a_restore_is_refused_from_an_unfinished_snapshot_or_onto_an_instance_not_running(
    service: SnapshotService, instances: InstanceService, starter: RecordingStarter, instance: Instance
) -> None:
    stored_snapshot(instance.instance_id, "failed", "snap_failed")
    stored_snapshot(instance.instance_id, "completed", "snap_done")

    with pytest.raises(Conflict) as unfinished:
        service.restore(OWNER, "snap_failed", instance.instance_id)
    moved(instances, instance, status=InstanceStatus.STOPPED)
    with pytest.raises(InvalidState) as not_running:
        service.restore(OWNER, "snap_done")

    assert unfinished.value.message == (
        "Snapshot snap_failed is failed; only a completed snapshot can be restored"
    )
    assert unfinished.value.details == {"snapshot_id": "snap_failed", "status": "failed"}
    assert not_running.value.details == {
        "instance_id": instance.instance_id,
        "action": "restore",
        "current_state": "stopped",
        "allowed_states": ["running"],
    }
    assert starter.started == []


def test_a_restore_that_cannot_start_asks_to_try_again_and_is_logged(
    service: SnapshotService, starter: RecordingStarter, instance: Instance, caplog: pytest.LogCaptureFixture
) -> None:
    stored_snapshot(instance.instance_id, "completed", "snap_done")
    starter.fail_with = RuntimeError("Step Functions is unavailable")

    with pytest.raises(ServiceUnavailable, match=r"^The restore could not be started; please try again$"):
        service.restore(OWNER, "snap_done")

    assert logged(caplog, logging.ERROR) == [("Could not start a restore", {"snapshot_id": "snap_done"})]


def test_a_snapshot_whose_workflow_cannot_start_is_failed_saying_why(
    service: SnapshotService,
    starter: RecordingStarter,
    instance: Instance,
    publisher: InMemoryPublisher,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    starter.fail_with = RuntimeError("Step Functions is unavailable")
    clock.advance(minutes=1)

    with pytest.raises(ServiceUnavailable, match=r"^The snapshot could not be started; please try again$"):
        service.create(OWNER, instance.instance_id, None, "lz4")

    [failed] = service.list_snapshots(OWNER)
    assert (failed.status, failed.status_reason) == ("failed", "the snapshot workflow could not be started")
    assert logged(caplog, logging.ERROR) == [
        ("Could not start a snapshot", {"snapshot_id": failed.snapshot_id})
    ]
    assert failed.updated_at == clock()
    [event] = [event for event in publisher.published if event.type == EventType.SNAPSHOT_FAILED]
    assert (event.instance_id, event.details) == (
        instance.instance_id,
        {"snapshot_id": failed.snapshot_id, "reason": "the snapshot workflow could not be started"},
    )


def test_a_snapshot_given_up_on_is_failed_once_saying_why(
    service: SnapshotService, publisher: InMemoryPublisher, instance: Instance, clock: Clock
) -> None:
    for status, snapshot_id in (
        ("uploading", "snap_busy"),
        ("completed", "snap_done"),
        ("failed", "snap_failed"),
    ):
        stored_snapshot(instance.instance_id, status, snapshot_id)
    clock.advance(minutes=20)

    for snapshot_id in ("snap_busy", "snap_done", "snap_failed", "snap_unknown"):
        service.fail_snapshot(TEAM, snapshot_id, "the agent gave up")

    after = {snapshot.snapshot_id: snapshot for snapshot in service.list_snapshots(OWNER)}
    assert {snapshot_id: snapshot.status for snapshot_id, snapshot in after.items()} == {
        "snap_busy": "failed",
        "snap_done": "completed",
        "snap_failed": "failed",
    }
    assert (after["snap_busy"].status_reason, after["snap_busy"].updated_at) == ("the agent gave up", clock())
    assert after["snap_failed"].status_reason is None, "failed before, for its own reason"
    assert [(event.type, event.details) for event in publisher.published] == [
        (EventType.SNAPSHOT_FAILED, {"snapshot_id": "snap_busy", "reason": "the agent gave up"})
    ]
