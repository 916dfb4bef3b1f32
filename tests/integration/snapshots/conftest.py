"""A real table and bucket (moto), the instance and snapshot services over them, the workflow steps that
finish a snapshot, and one running instance to take snapshots of."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import boto3
import pytest

from dumont_core.instances.metrics import MetricsRepository
from dumont_core.instances.models import EventType, Instance, InstanceEvent, InstanceStatus
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.service import InstanceService
from dumont_core.platform.identity import Principal
from dumont_core.snapshots.models import Snapshot
from dumont_core.snapshots.repository import SnapshotRepository
from dumont_core.snapshots.service import SnapshotService
from dumont_core.snapshots.steps import SnapshotSteps
from dumont_core.snapshots.store import SnapshotStore
from tests.fakes.clock import Clock
from tests.fakes.events import InMemoryPublisher
from tests.fakes.workflows import RecordingStarter
from tests.integration.conftest import REGION


def digest_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


BUCKET = "snapshots-test"
TEAM = "team_00000000000000aa"
OWNER = Principal(account_id="acct_00000000000000aa", team_id=TEAM, role="admin")
OTHER_INSTANCE_ID = "inst_00000000000000bb"


@pytest.fixture
def s3(dynamodb_table: str) -> Any:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def instances(
    repository: InstanceRepository, readings: MetricsRepository, publisher: InMemoryPublisher, clock: Clock
) -> InstanceService:
    return InstanceService(
        repository=repository,
        readings=readings,
        publisher=publisher,
        workflows=RecordingStarter(),
        clock=clock,
    )


@pytest.fixture
def starter() -> RecordingStarter:
    """The workflows the snapshot service starts (snapshots, restores, wakes), recorded."""
    return RecordingStarter()


@pytest.fixture
def service(instances: InstanceService, s3: Any, starter: RecordingStarter, clock: Clock) -> SnapshotService:
    return SnapshotService(
        instances=instances,
        snapshots=SnapshotRepository(),
        store=SnapshotStore(BUCKET),
        workflows=starter,
        clock=clock,
    )


@pytest.fixture
def steps(instances: InstanceService, s3: Any, clock: Clock) -> SnapshotSteps:
    return SnapshotSteps(
        instances=instances, snapshots=SnapshotRepository(), store=SnapshotStore(BUCKET), clock=clock
    )


@pytest.fixture
def instance(repository: InstanceRepository, clock: Clock) -> Instance:
    now = clock()
    running = Instance(
        instance_id="inst_00000000000000aa",
        account_id=OWNER.account_id,
        team_id=TEAM,
        gpu_type="RTX_4090",
        image="pytorch/pytorch:latest",
        disk_gb=50,
        status=InstanceStatus.RUNNING,
        created_at=now,
        updated_at=now,
    )
    repository.create(running, InstanceEvent.of(EventType.CREATED, running))
    return running


def agent_of(instance: Instance) -> Principal:
    return Principal(
        account_id=instance.account_id,
        team_id=instance.team_id,
        role="agent",
        instance_id=instance.instance_id,
    )


def logged(caplog: pytest.LogCaptureFixture, level: int) -> list[tuple[str, dict[str, Any]]]:
    """What the snapshot service logs at `level` for operators: each message, and what it names."""
    named = ("instance_id", "snapshot_id", "why")
    return [
        (record.getMessage(), {key: getattr(record, key) for key in named if hasattr(record, key)})
        for record in caplog.records
        if record.levelno == level and record.name.endswith("dumont_core.snapshots.service")
    ]


def stored_snapshot(
    instance_id: str,
    status: str,
    snapshot_id: str,
    stored_bytes: int | None = None,
    team_id: str = TEAM,
    at: datetime | None = None,
) -> Snapshot:
    """A snapshot in `status` as the workflows left it (at `at`, or the test clock's start), of an instance
    that need not exist."""
    at = at or Clock()()
    snapshot = Snapshot(
        snapshot_id=snapshot_id,
        instance_id=instance_id,
        account_id=OWNER.account_id,
        team_id=team_id,
        compression="lz4",
        purpose="manual",
        status=status,  # type: ignore[arg-type]
        stored_bytes=stored_bytes,
        created_at=at,
        updated_at=at,
    )
    SnapshotRepository().create(snapshot)
    return snapshot
