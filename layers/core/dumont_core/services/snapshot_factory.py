"""The snapshot service the settings describe, shared by the API and the workflow steps."""

from __future__ import annotations

from functools import cache

from dumont_core.data.instances import InstanceRepository
from dumont_core.data.snapshots import SnapshotRepository, SnapshotStore
from dumont_core.events import EventBridgePublisher
from dumont_core.services.snapshots import SnapshotService
from dumont_core.settings import get_settings
from dumont_core.workflows import StepFunctionsStarter


@cache
def snapshot_service() -> SnapshotService:
    settings = get_settings()
    if not settings.snapshot_bucket:
        raise RuntimeError("Set SNAPSHOT_BUCKET to the bucket that keeps workspace snapshots")
    return SnapshotService(
        InstanceRepository.from_settings(settings),
        SnapshotRepository(settings.table_name),
        SnapshotStore(settings.snapshot_bucket),
        EventBridgePublisher.from_settings(settings),
        StepFunctionsStarter(None, settings),
        workflow_config={
            "poll_seconds": settings.boot_poll_seconds,
            "agent_timeout_seconds": settings.agent_action_timeout_seconds,
        },
    )
