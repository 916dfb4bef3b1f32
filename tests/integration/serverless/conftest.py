"""Serverless mode works over the instance service: the instances' fixtures serve here too, with the
snapshot service hibernation goes through, and heartbeats that the controllable clock spaces out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from dumont_core.serverless.repository import ServerlessRepository
from dumont_core.serverless.service import ServerlessService
from dumont_core.snapshots.repository import SnapshotRepository
from dumont_core.snapshots.service import SnapshotService
from dumont_core.snapshots.store import SnapshotStore
from tests.fakes.workflows import RecordingStarter
from tests.integration.conftest import REGION
from tests.integration.instances.conftest import Cloud, Provisioned, cloud, provider

__all__ = ["cloud", "provider"]

HEARTBEAT_SECONDS = 5
IDLE = {"gpu_utilization": 1.0, "gpu_memory_used_gb": 0.5, "cpu_utilization": 3.0, "ram_used_gb": 2.0}


@pytest.fixture
def serverless(cloud: Cloud) -> ServerlessService:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="snapshots-test")
    snapshots = SnapshotService(
        instances=cloud.service,
        snapshots=SnapshotRepository(),
        store=SnapshotStore("snapshots-test"),
        workflows=RecordingStarter(),
        clock=cloud.clock,
    )
    return ServerlessService(
        instances=cloud.service,
        snapshots=snapshots,
        repository=ServerlessRepository(record_retention=timedelta(days=1)),
        heartbeat_seconds=HEARTBEAT_SECONDS,
        clock=cloud.clock,
    )


def idle_for(cloud: Cloud, provisioned: Provisioned, seconds: float, **reading: Any) -> None:
    """The agent reports every heartbeat for `seconds` (the GPU idle unless `reading` says otherwise)."""
    instance = provisioned.instance
    for _ in range(int(seconds // HEARTBEAT_SECONDS)):
        cloud.service.record_heartbeat(instance.team_id, instance.instance_id, {**IDLE, **reading})
        cloud.clock.advance(seconds=HEARTBEAT_SECONDS)
