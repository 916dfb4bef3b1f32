"""The live metrics domain's services: connections to an instance's live metrics, and the publisher that
pushes heartbeats to them."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from dumont_core.composition.providing import provided, repository
from dumont_core.platform.settings import BillingSettings, LiveMetricsSettings, load_settings

if TYPE_CHECKING:
    from dumont_core.instances.watchers import InstanceWatchers
    from dumont_core.live.models import LiveMetricsPublisher
    from dumont_core.live.repository import ConnectionRepository
    from dumont_core.live.service import LiveMetricsService


class _Nowhere:
    """Where heartbeats go when no WebSocket API is configured: every connection is gone."""

    def send(self, connection_id: str, message: bytes) -> bool:
        return False


@repository
def connection_repository() -> ConnectionRepository:
    from dumont_core.live.repository import ConnectionRepository

    hours = load_settings(LiveMetricsSettings).live_connection_hours
    return ConnectionRepository(lifetime=timedelta(hours=hours))


@repository
def instance_watchers() -> InstanceWatchers:
    from dumont_core.instances.watchers import InstanceWatchers

    return InstanceWatchers()


@provided
def live_publisher() -> LiveMetricsPublisher:
    from dumont_core.live.apigateway import ManagementApiPublisher

    endpoint = load_settings(LiveMetricsSettings).live_metrics_endpoint
    return ManagementApiPublisher(endpoint) if endpoint else _Nowhere()


@provided
def live_metrics() -> LiveMetricsService:
    from dumont_core.composition import access, instances
    from dumont_core.live.service import LiveMetricsService

    return LiveMetricsService(
        access=access(),
        instances=instances(),
        watchers=instance_watchers(),
        connections=connection_repository(),
        publisher=live_publisher(),
        margin=load_settings(BillingSettings).platform_margin,
    )
