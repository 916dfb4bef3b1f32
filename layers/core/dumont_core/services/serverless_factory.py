"""The serverless service the settings describe."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from dumont_core.agents.factory import agent_repository
from dumont_core.data.instances import InstanceRepository
from dumont_core.data.serverless import ServerlessRepository
from dumont_core.services.serverless import ServerlessService
from dumont_core.services.snapshot_factory import snapshot_service
from dumont_core.settings import Settings, get_settings

HIBERNATION_RECORD_RETENTION = timedelta(days=400)


def serverless_repository(settings: Settings) -> ServerlessRepository:
    return ServerlessRepository(settings.table_name, record_retention=HIBERNATION_RECORD_RETENTION)


@cache
def serverless_service() -> ServerlessService:
    settings = get_settings()
    return ServerlessService(
        InstanceRepository.from_settings(settings),
        agent_repository(settings),
        serverless_repository(settings),
        snapshot_service(),
        heartbeat_seconds=settings.agent_heartbeat_seconds,
    )
