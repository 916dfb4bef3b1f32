"""Requests and answers of the serverless and hibernation history routes."""

from __future__ import annotations

from pydantic import Field

from api.schemas import RequestBody, View
from dumont_core.instances.models import DEFAULT_GPU_THRESHOLD, DEFAULT_IDLE_TIMEOUT_MINUTES
from dumont_core.serverless.models import HibernationRecord


class InstanceRequest(RequestBody):
    instance_id: str = Field(max_length=64)


class EnableRequest(InstanceRequest):
    idle_timeout_minutes: float = Field(
        default=DEFAULT_IDLE_TIMEOUT_MINUTES,
        ge=0.05,
        le=7 * 24 * 60,
        description="How long the GPU must stay idle before the instance hibernates (fractions for demos)",
    )
    gpu_threshold: float = Field(
        default=DEFAULT_GPU_THRESHOLD, ge=0, le=100, description="GPU utilisation (%) under which it is idle"
    )


class HibernationView(View, HibernationRecord):
    """A hibernation: when the machine was given back and why, and what it has saved."""


class HibernationHistoryView(View):
    """Hibernations, newest first, and what they saved."""

    events: list[HibernationView]
    total_savings: float
