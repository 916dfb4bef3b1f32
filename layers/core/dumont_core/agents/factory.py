"""The agent service the settings describe."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from dumont_core.agents.logs import InstanceLogs
from dumont_core.agents.service import AgentService
from dumont_core.data.agents import AgentRepository
from dumont_core.data.instances import InstanceRepository
from dumont_core.settings import Settings, get_settings

ACTION_RETENTION = timedelta(days=7)


def agent_repository(settings: Settings) -> AgentRepository:
    return AgentRepository(
        settings.table_name,
        metric_retention=timedelta(days=settings.metric_retention_days),
        action_retention=ACTION_RETENTION,
    )


@cache
def agent_service() -> AgentService:
    settings = get_settings()
    return AgentService(
        InstanceRepository.from_settings(settings),
        agent_repository(settings),
        heartbeat_seconds=settings.agent_heartbeat_seconds,
        logs=InstanceLogs(settings.instance_log_group),
    )
