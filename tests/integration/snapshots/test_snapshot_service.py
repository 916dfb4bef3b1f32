"""Snapshot bookkeeping against a real table and bucket (moto): what is uploaded, verified and swept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dumont_core.instances.models import Instance, InstanceStatus
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.service import InstanceService
from dumont_core.platform.errors import NotFound, ValidationFailed
from dumont_core.platform.identity import Principal
from dumont_core.snapshots.checkpoints import Checkpoints
from dumont_core.snapshots.models import ChunkPlan
from dumont_core.snapshots.repository import SnapshotRepository
from dumont_core.snapshots.service import SnapshotService
from dumont_core.snapshots.steps import SnapshotIncomplete, SnapshotSteps, SweepInProgress
from dumont_core.snapshots.store import SnapshotStore
from tests.fakes.clock import Clock
from tests.fakes.workflows import RecordingStarter
from tests.integration.snapshots.conftest import BUCKET, OWNER, TEAM, agent_of, digest_of


def take(
    service: SnapshotService, steps: SnapshotSteps, s3: Any, instance: Instance, chunks: list[bytes]
) -> tuple[str, list[str]]:
    """A snapshot of `chunks` as the agent would take it: plan, upload what is asked, finish."""
    snapshot = service.create(OWNER, instance.instance_id, None, "lz4")
    plans = [ChunkPlan(digest=digest_of(chunk), size=len(chunk), stored_size=len(chunk)) for chunk in chunks]
    plan = service.plan_uploads(agent_of(instance), snapshot.snapshot_id, plans)
    uploaded = []
    for chunk in chunks:
        if digest_of(chunk) in plan.uploads:
            s3.put_object(Bucket=BUCKET, Key=SnapshotStore.chunk_key(TEAM, digest_of(chunk)), Body=chunk)
            uploaded.append(digest_of(chunk))
    s3.put_object(
        Bucket=BUCKET, Key=SnapshotStore(BUCKET).manifest_key(TEAM, snapshot.snapshot_id), Body=b"{}"
    )
    steps.finish_snapshot(TEAM, snapshot.snapshot_id, {"size_bytes": 10, "stored_bytes": 5})
    return snapshot.snapshot_id, uploaded


def stored(s3: Any) -> set[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"teams/{TEAM}/chunks/").get("Contents", [])
    return {item["Key"].rsplit("/", 1)[1] for item in listed}


def test_only_chunks_s3_lacks_are_uploaded(
    service: SnapshotService, steps: SnapshotSteps, s3: Any, instance: Instance
) -> None:
    _, first = take(service, steps, s3, instance, [b"alpha", b"beta"])
    _, second = take(service, steps, s3, instance, [b"alpha", b"gamma"])
    assert first == [digest_of(b"alpha"), digest_of(b"beta")]
    assert second == [digest_of(b"gamma")]


def test_a_deleted_snapshot_loses_only_the_chunks_no_other_snapshot_uses(
    service: SnapshotService, steps: SnapshotSteps, s3: Any, instance: Instance
) -> None:
    old, _ = take(service, steps, s3, instance, [b"alpha", b"beta"])
    take(service, steps, s3, instance, [b"alpha", b"gamma"])
    service.delete(OWNER, old)
    assert stored(s3) == {digest_of(chunk) for chunk in (b"alpha", b"beta", b"gamma")}, "swept later"

    assert steps.sweep_pending() == {TEAM: 1}
    assert stored(s3) == {digest_of(b"alpha"), digest_of(b"gamma")}
    assert steps.sweep_pending() == {}, "nothing left to sweep"


def test_no_sweep_while_a_snapshot_is_being_taken(
    service: SnapshotService, steps: SnapshotSteps, s3: Any, instance: Instance
) -> None:
    old, _ = take(service, steps, s3, instance, [b"alpha", b"beta"])
    service.delete(OWNER, old)
    in_progress = service.create(OWNER, instance.instance_id, None, "lz4")
    assert steps.sweep_pending() == {}
    assert digest_of(b"beta") in stored(s3), "kept until no snapshot is in progress"
    service.fail_snapshot(TEAM, in_progress.snapshot_id, "the agent gave up")
    assert steps.sweep_pending() == {TEAM: 2}


def test_a_snapshot_missing_a_chunk_or_its_manifest_is_not_completed(
    service: SnapshotService, steps: SnapshotSteps, s3: Any, instance: Instance
) -> None:
    snapshot = service.create(OWNER, instance.instance_id, None, "lz4")
    chunk = b"never uploaded"
    service.plan_uploads(
        agent_of(instance),
        snapshot.snapshot_id,
        [ChunkPlan(digest=digest_of(chunk), size=14, stored_size=14)],
    )
    with pytest.raises(SnapshotIncomplete, match="manifest"):
        steps.finish_snapshot(TEAM, snapshot.snapshot_id, {})
    s3.put_object(
        Bucket=BUCKET, Key=SnapshotStore(BUCKET).manifest_key(TEAM, snapshot.snapshot_id), Body=b"{}"
    )
    with pytest.raises(SnapshotIncomplete, match="1 of 1 chunks are missing"):
        steps.finish_snapshot(TEAM, snapshot.snapshot_id, {})


def test_completing_waits_while_chunks_are_swept(
    service: SnapshotService, steps: SnapshotSteps, s3: Any, instance: Instance, clock: Clock
) -> None:
    snapshot = service.create(OWNER, instance.instance_id, None, "lz4")
    service.plan_uploads(agent_of(instance), snapshot.snapshot_id, [])
    s3.put_object(
        Bucket=BUCKET, Key=SnapshotStore(BUCKET).manifest_key(TEAM, snapshot.snapshot_id), Body=b"{}"
    )
    repository = SnapshotRepository()
    assert repository.take_lease(TEAM, "sweeper", clock(), timedelta(minutes=5))
    with pytest.raises(SweepInProgress):
        steps.finish_snapshot(TEAM, snapshot.snapshot_id, {})
    repository.release_lease(TEAM, "sweeper")
    assert steps.finish_snapshot(TEAM, snapshot.snapshot_id, {}) == {"snapshot_id": snapshot.snapshot_id}


def test_an_agent_sees_only_its_own_instances_snapshots(
    service: SnapshotService, steps: SnapshotSteps, s3: Any, instance: Instance
) -> None:
    snapshot = service.create(OWNER, instance.instance_id, None, "lz4")
    stranger = Principal(account_id="acct_x", team_id=TEAM, role="agent", instance_id="inst_00000000000000bb")
    with pytest.raises(NotFound) as refused:
        service.plan_uploads(stranger, snapshot.snapshot_id, [])
    assert refused.value.message == f"Snapshot {snapshot.snapshot_id} not found"


def finish(
    service: SnapshotService, steps: SnapshotSteps, s3: Any, instance: Instance, snapshot_id: str
) -> None:
    """The agent's part of a snapshot of a one-chunk workspace: upload, manifest, finish."""
    chunk = snapshot_id.encode()
    plan = ChunkPlan(digest=digest_of(chunk), size=len(chunk), stored_size=len(chunk))
    service.plan_uploads(agent_of(instance), snapshot_id, [plan])
    s3.put_object(Bucket=BUCKET, Key=SnapshotStore.chunk_key(TEAM, digest_of(chunk)), Body=chunk)
    s3.put_object(Bucket=BUCKET, Key=SnapshotStore(BUCKET).manifest_key(TEAM, snapshot_id), Body=b"{}")
    steps.finish_snapshot(TEAM, snapshot_id, {"size_bytes": len(chunk), "stored_bytes": len(chunk)})


def test_an_instance_with_failover_is_checkpointed_every_interval_keeping_the_newest_two(
    service: SnapshotService,
    steps: SnapshotSteps,
    s3: Any,
    instances: InstanceService,
    instance: Instance,
    clock: Clock,
) -> None:
    checkpoints = Checkpoints(instances=instances, snapshots=service, clock=clock)
    assert checkpoints.take_due() == [], "failover is off"
    instances.transition(
        instance,
        expected=[InstanceStatus.RUNNING],
        changes={
            "status": InstanceStatus.RUNNING,
            "failover_enabled": True,
            "checkpoint_interval_minutes": 10,
        },
    )

    taken = []
    for _ in range(4):
        (started,) = checkpoints.take_due()
        assert checkpoints.take_due() == [], "one at a time"
        clock.advance(minutes=1)
        finish(service, steps, s3, instance, started)
        assert checkpoints.take_due() == [], "not before the interval is over"
        taken.append(started)
        clock.advance(minutes=10)

    kept = service.list_snapshots(OWNER, instance.instance_id)
    assert {snapshot.purpose for snapshot in kept} == {"checkpoint"}
    assert sorted(snapshot.snapshot_id for snapshot in kept) == sorted(taken[-3:]), (
        "the newest two completed are kept when the next starts; the fourth is the newest"
    )
    stored_instance = instances.find(TEAM, instance.instance_id)
    assert stored_instance is not None and stored_instance.last_snapshot_id == taken[-1]


def test_the_compression_asked_for_is_recorded_and_handed_to_the_agent(
    service: SnapshotService, starter: RecordingStarter, instance: Instance
) -> None:
    snapshot = service.create(OWNER, instance.instance_id, None, "zstd")

    assert service.get(OWNER, snapshot.snapshot_id).compression == "zstd"
    _, _, payload = starter.started[-1]
    assert payload["snapshot"]["compression"] == "zstd"


def test_a_compression_not_offered_is_refused_naming_those_that_are(
    service: SnapshotService, instance: Instance
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        service.create(OWNER, instance.instance_id, None, "gzip")

    assert refused.value.message == "compression 'gzip' is not offered; use lz4 or zstd"
    assert refused.value.details == {
        "fields": [{"field": "compression", "message": "must be one of lz4, zstd"}]
    }
    assert service.list_snapshots(OWNER) == []


def test_deleting_a_running_instances_latest_snapshot_leaves_it_the_one_before(
    service: SnapshotService,
    steps: SnapshotSteps,
    s3: Any,
    instance: Instance,
    repository: InstanceRepository,
    clock: Clock,
) -> None:
    """The latest snapshot is what the instance is woken from should its machine be lost: once deleted,
    the one before takes its place, and with none left the instance says it has none."""
    older, _ = take(service, steps, s3, instance, [b"alpha"])
    older_at = clock()
    clock.advance(minutes=10)
    newer, _ = take(service, steps, s3, instance, [b"beta"])
    assert repository.get(TEAM, instance.instance_id).last_snapshot_id == newer

    service.delete(OWNER, newer)
    kept = repository.get(TEAM, instance.instance_id)
    assert (kept.last_snapshot_id, kept.last_snapshot_at) == (older, older_at)

    service.delete(OWNER, older)
    none_left = repository.get(TEAM, instance.instance_id)
    assert (none_left.last_snapshot_id, none_left.last_snapshot_at) == (None, None)


def test_an_agent_plans_in_batches_while_it_packs(
    service: SnapshotService, steps: SnapshotSteps, s3: Any, instance: Instance
) -> None:
    take(service, steps, s3, instance, [b"alpha"])
    snapshot = service.create(OWNER, instance.instance_id, None, "lz4")
    agent = agent_of(instance)

    def plans(*chunks: bytes) -> list[ChunkPlan]:
        return [
            ChunkPlan(digest=digest_of(chunk), size=len(chunk), stored_size=len(chunk)) for chunk in chunks
        ]

    # A retried snapshot's first batch replaces what an earlier try planned; later batches add to it.
    service.plan_uploads(agent, snapshot.snapshot_id, plans(b"from an earlier try"))
    first = service.plan_uploads(agent, snapshot.snapshot_id, plans(b"alpha", b"beta"))
    second = service.plan_uploads(agent, snapshot.snapshot_id, plans(b"beta", b"gamma"), append=True)

    assert set(first.uploads) == {digest_of(b"beta")}
    assert set(second.uploads) == {digest_of(b"beta"), digest_of(b"gamma")}  # not uploaded yet
    assert SnapshotStore(BUCKET).digests(TEAM, snapshot.snapshot_id) == [
        digest_of(b"alpha"),
        digest_of(b"beta"),
        digest_of(b"gamma"),
    ]
    for chunk in (b"beta", b"gamma"):
        s3.put_object(Bucket=BUCKET, Key=SnapshotStore.chunk_key(TEAM, digest_of(chunk)), Body=chunk)
    s3.put_object(
        Bucket=BUCKET, Key=SnapshotStore(BUCKET).manifest_key(TEAM, snapshot.snapshot_id), Body=b"{}"
    )
    assert steps.finish_snapshot(TEAM, snapshot.snapshot_id, {}) == {"snapshot_id": snapshot.snapshot_id}
