"""Requests and answers of the failover routes."""

from __future__ import annotations

from pydantic import Field

from api.schemas import RequestBody, View
from dumont_core.failover.models import FailoverStatus
from dumont_core.instances.models import FailoverStrategy


class ConfigureRequest(RequestBody):
    instance_id: str = Field(max_length=64)
    enabled: bool
    strategy: FailoverStrategy | None = Field(
        default=None,
        strict=False,
        description="How it comes back: `snapshot` (a new GPU, the last checkpoint restored) or "
        "`cpu_standby` (a CPU machine kept in sync takes over while a new GPU is rented)",
    )
    checkpoint_interval_minutes: float | None = Field(
        default=None,
        gt=0,
        le=24 * 60,
        description="How often its workspace should be snapshotted (fractions allowed)",
    )


class FailoverStatusView(View, FailoverStatus):
    """An instance's failover setup, what a failover now would lose, and its failovers so far (the
    history is read by `GET /api/v1/failover/status/{id}`; configure and trigger answer without it)."""
