"""A WebSocket connection watching an instance, what each heartbeat pushes to it, and the port through
which it is pushed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from dumont_core.platform.models import DomainModel


class LiveConnection(DomainModel):
    connection_id: str
    instance_id: str
    team_id: str
    account_id: str
    connected_at: datetime


class LiveMetrics(DomainModel):
    """Seed 002's payload of `/ws/instance/{id}/metrics`."""

    timestamp: str
    gpu_utilization: float | None
    vram_used_gb: float | None
    cost_accumulated: float

    @staticmethod
    def timestamp_of(at: datetime) -> str:
        """`2025-12-19T02:28:30Z`, as seed 002 writes it."""
        return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LiveMetricsPublisher(Protocol):
    """Pushes a message to one WebSocket connection: API Gateway's Management API in AWS, the local
    stack's server on `make run`."""

    def send(self, connection_id: str, message: bytes) -> bool:
        """False when the connection is gone (API Gateway's 410); raises on any other failure."""
        ...
