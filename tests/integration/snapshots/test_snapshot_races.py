"""Deleting an instance's latest snapshot while another writer keeps changing the instance: the service
reads it again and retries, a few times, then asks to try again, with nothing deleted. And a snapshot
that completed while it was being given up on stays completed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import boto3
import pytest

from dumont_core.instances.models import InstanceStatus
from dumont_core.platform.errors import Conflict
from dumont_core.platform.identity import Principal
from dumont_core.snapshots.models import IN_PROGRESS, Snapshot, SnapshotStatus
from dumont_core.snapshots.repository import SnapshotRepository
from tests.integration.conftest import REGION
from tests.integration.instances.test_lost_races import INSTANCE_ID, OWNER, SNAPSHOT_ID, TEAM, World, world

__all__ = ["world"]


def test_deleting_the_latest_snapshot_reads_the_instance_again_and_gives_up_after_three_changes(
    world: World,
) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="snapshots-test")
    world.instance_in(InstanceStatus.RUNNING)  # whose latest snapshot is SNAPSHOT_ID
    latest = Snapshot(
        snapshot_id=SNAPSHOT_ID,
        instance_id=INSTANCE_ID,
        account_id=OWNER.account_id,
        team_id=TEAM,
        compression="lz4",
        purpose="manual",
        status="completed",
        created_at=world.clock(),
        updated_at=world.clock(),
    )
    SnapshotRepository().create(latest)
    for write in (1, 2, 3):
        world.another_writer_before_write(write, InstanceStatus.RUNNING)

    with pytest.raises(Conflict) as refused:
        world.snapshots.delete(OWNER, SNAPSHOT_ID)

    assert refused.value.message == (
        f"Instance {INSTANCE_ID} kept changing while its snapshot was deleted; try again"
    )
    assert refused.value.details == {"snapshot_id": SNAPSHOT_ID, "instance_id": INSTANCE_ID}
    assert world.snapshots.list_snapshots(OWNER) == [latest]

    world.another_writer_before_write(4, InstanceStatus.RUNNING)
    world.snapshots.delete(OWNER, SNAPSHOT_ID)

    assert world.repository.writes == 5, "read again after the one change, then written"
    assert world.snapshots.list_snapshots(OWNER) == []
    stored = world.repository.get(TEAM, INSTANCE_ID)
    assert stored is not None and stored.last_snapshot_id is None


class MovedFirst(SnapshotRepository):
    """The table, with the snapshot workflow moving the snapshot on (to `status`) just before the service's
    next move of it."""

    def __init__(self, status: SnapshotStatus) -> None:
        self.status = status

    def move(self, snapshot: Snapshot, *, expected: Iterable[SnapshotStatus], **changes: Any) -> Snapshot:
        SnapshotRepository.move(self, snapshot, expected=IN_PROGRESS, status=self.status)
        return super().move(snapshot, expected=expected, **changes)


def test_a_snapshot_that_completed_while_it_was_given_up_on_stays_completed(world: World) -> None:
    snapshots = MovedFirst("completed")
    service = replace(world.snapshots, snapshots=snapshots)
    taking = service.begin_checkpoint(world.instance_in(InstanceStatus.RUNNING))

    service.fail_snapshot(TEAM, taking.snapshot_id, "the agent gave up")

    completed = snapshots.get(TEAM, taking.snapshot_id)
    assert completed is not None
    assert (completed.status, completed.status_reason) == ("completed", None)
    timeline = [event.type for event in world.repository.list_events(INSTANCE_ID)]
    assert "snapshot.failed" not in timeline, "no failure is told of a snapshot that completed"


def test_an_agent_planning_uploads_for_a_snapshot_failed_meanwhile_gets_its_plan_and_it_stays_failed(
    world: World,
) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="snapshots-test")
    snapshots = MovedFirst("failed")
    service = replace(world.snapshots, snapshots=snapshots)
    instance = world.instance_in(InstanceStatus.RUNNING)
    taking = service.begin_checkpoint(instance)
    agent = Principal(account_id=OWNER.account_id, team_id=TEAM, role="agent", instance_id=INSTANCE_ID)

    plan = service.plan_uploads(agent, taking.snapshot_id, [])

    assert plan.uploads == {}
    failed = snapshots.get(TEAM, taking.snapshot_id)
    assert failed is not None and failed.status == "failed", "its workflow finishes it as failed"
