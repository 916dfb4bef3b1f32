"""What an agent is handed to upload a snapshot's chunks or download a completed one, against a real table
and bucket (moto): presigned URLs for the right keys, and refusals for snapshots in the wrong state."""

from __future__ import annotations

from typing import Any

import pytest

from dumont_core.instances.models import Instance
from dumont_core.platform.errors import Conflict, NotFound
from dumont_core.platform.identity import Principal
from dumont_core.snapshots.models import ChunkPlan
from dumont_core.snapshots.service import SnapshotService
from dumont_core.snapshots.store import SnapshotStore
from tests.fakes.clock import Clock
from tests.integration.snapshots.conftest import BUCKET, OTHER_INSTANCE_ID, OWNER, TEAM, stored_snapshot


def agent(instance_id: str) -> Principal:
    return Principal(account_id=OWNER.account_id, team_id=TEAM, role="agent", instance_id=instance_id)


def test_an_agent_downloads_a_completed_snapshot_of_any_of_its_teams_instances(
    service: SnapshotService, s3: Any
) -> None:
    stored_snapshot(OTHER_INSTANCE_ID, "completed", "snap_done")
    store = SnapshotStore(BUCKET)
    store.put_digests(TEAM, "snap_done", ["d1", "d2"])
    stored_snapshot(OTHER_INSTANCE_ID, "completed", "snap_without_digests")

    plan = service.plan_downloads(agent("inst_00000000000000aa"), "snap_done")

    assert f"/{store.manifest_key(TEAM, 'snap_done')}?" in plan.manifest_url
    assert set(plan.chunks) == {"d1", "d2"}
    assert all(f"/{store.chunk_key(TEAM, digest)}?" in url for digest, url in plan.chunks.items())
    assert service.plan_downloads(agent("inst_00000000000000aa"), "snap_without_digests").chunks == {}


def test_an_unfinished_snapshot_is_not_downloaded_nor_one_of_another_team(
    service: SnapshotService, s3: Any
) -> None:
    stored_snapshot(OTHER_INSTANCE_ID, "uploading", "snap_busy")
    stored_snapshot(OTHER_INSTANCE_ID, "completed", "snap_theirs", team_id="team_other")

    with pytest.raises(Conflict) as refused:
        service.plan_downloads(agent(OTHER_INSTANCE_ID), "snap_busy")
    with pytest.raises(NotFound):
        service.plan_downloads(agent(OTHER_INSTANCE_ID), "snap_theirs")

    assert (
        refused.value.message == "Snapshot snap_busy is uploading; only a completed snapshot can be restored"
    )
    assert refused.value.details == {"snapshot_id": "snap_busy"}


def test_a_snapshot_no_longer_being_taken_takes_no_uploads(service: SnapshotService, s3: Any) -> None:
    stored_snapshot(OTHER_INSTANCE_ID, "verifying", "snap_verifying")

    with pytest.raises(Conflict) as refused:
        service.plan_uploads(agent(OTHER_INSTANCE_ID), "snap_verifying", [])

    assert refused.value.message == "Snapshot snap_verifying is verifying; it takes no uploads"
    assert refused.value.details == {"snapshot_id": "snap_verifying", "status": "verifying"}


def test_planning_uploads_moves_the_snapshot_to_uploading(
    service: SnapshotService, instance: Instance, clock: Clock
) -> None:
    snapshot = service.create(OWNER, instance.instance_id, None, "lz4")
    clock.advance(seconds=30)

    chunk = ChunkPlan(digest="d1", size=10, stored_size=5)
    plan = service.plan_uploads(agent(instance.instance_id), snapshot.snapshot_id, [chunk, chunk])

    assert list(plan.uploads) == ["d1"]
    assert f"/{SnapshotStore.chunk_key(TEAM, 'd1')}?" in plan.uploads["d1"]
    assert SnapshotStore(BUCKET).digests(TEAM, snapshot.snapshot_id) == ["d1"]
    uploading = service.get(OWNER, snapshot.snapshot_id)
    assert (uploading.status, uploading.updated_at) == ("uploading", clock())
    assert f"/{SnapshotStore(BUCKET).manifest_key(TEAM, snapshot.snapshot_id)}?" in plan.manifest_url
    clock.advance(seconds=30)
    service.plan_uploads(agent(instance.instance_id), snapshot.snapshot_id, [], append=True)
    assert service.get(OWNER, snapshot.snapshot_id).updated_at == clock(), "still uploading, later"
