"""Serverless mode (`/api/v1/serverless/…`), an instance's metrics, and the hibernation history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from api.context import authorize, error_responses, json_response, ok_response
from api.schemas import Envelope
from dumont_core.agents.factory import agent_service
from dumont_core.errors import ValidationFailed
from dumont_core.services.serverless import (
    DEFAULT_GPU_THRESHOLD,
    DEFAULT_IDLE_MINUTES,
    ServerlessStatus,
    serverless_status,
)
from dumont_core.services.serverless_factory import serverless_service
from dumont_core.services.snapshot_factory import snapshot_service

router = APIGatewayRouter()

InstanceId = Annotated[str, Path(description="Instance id, e.g. inst_3f9c…", max_length=64)]
METRIC_NAMES = {
    "gpu_util": "gpu_utilization",
    "gpu_mem": "gpu_memory_used_gb",
    "cpu": "cpu_utilization",
    "ram": "ram_used_gb",
}


class EnableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_id: str = Field(max_length=64)
    idle_timeout_minutes: float = Field(
        default=DEFAULT_IDLE_MINUTES,
        ge=0.05,
        le=7 * 24 * 60,
        description="How long the GPU must stay idle before the instance hibernates (fractions for demos)",
    )
    gpu_threshold: float = Field(
        default=DEFAULT_GPU_THRESHOLD, ge=0, le=100, description="GPU utilisation (%) under which it is idle"
    )


class InstanceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_id: str = Field(max_length=64)


class ServerlessOut(BaseModel):
    instance_id: str
    enabled: bool
    idle_timeout_minutes: float | None
    gpu_threshold: float | None
    state: str | None
    gpu_utilization: float | None
    last_heartbeat: datetime | None


class MetricsPoint(BaseModel):
    timestamp: datetime
    gpu_utilization: float | None = None
    gpu_memory_used_gb: float | None = None
    cpu_utilization: float | None = None
    ram_used_gb: float | None = None


class MetricsOut(BaseModel):
    success: Literal[True] = True
    instance_id: str
    period: str
    data: list[MetricsPoint]


class HibernationEvent(BaseModel):
    instance_id: str
    timestamp: datetime
    reason: str
    savings_per_hour: float
    woke_at: datetime | None
    saved: float = Field(description="Saved so far: the hourly price times the hours it stayed hibernated")


class HibernationEvents(BaseModel):
    events: list[HibernationEvent]
    total_savings: float


def _out(status: ServerlessStatus) -> ServerlessOut:
    return ServerlessOut(**status.__dict__)


@router.post(
    "/api/v1/serverless/enable",
    summary="Turn serverless mode on",
    description="The instance hibernates by itself once its GPU stayed under `gpu_threshold` for "
    "`idle_timeout_minutes`, counted from heartbeats: a machine that stops reporting never counts as idle.",
    responses={
        **ok_response(Envelope[ServerlessOut], "Serverless mode on"),
        **error_responses(400, 401, 403, 404, 409),
    },
    tags=["Serverless"],
)
def enable(body: Annotated[EnableBody, Body(embed=False)]) -> Response[str]:
    status = serverless_service().enable(
        authorize(router, "instances.operate"),
        body.instance_id,
        body.idle_timeout_minutes,
        body.gpu_threshold,
    )
    return json_response(Envelope[ServerlessOut](data=_out(status)))


@router.post(
    "/api/v1/serverless/disable",
    summary="Turn serverless mode off",
    responses={
        **ok_response(Envelope[ServerlessOut], "Serverless mode off"),
        **error_responses(400, 401, 403, 404, 409),
    },
    tags=["Serverless"],
)
def disable(body: Annotated[InstanceBody, Body(embed=False)]) -> Response[str]:
    status = serverless_service().disable(authorize(router, "instances.operate"), body.instance_id)
    return json_response(Envelope[ServerlessOut](data=_out(status)))


@router.get(
    "/api/v1/serverless/status/<instance_id>",
    summary="Serverless status",
    responses={
        **ok_response(Envelope[ServerlessOut], "The instance's serverless state"),
        **error_responses(401, 403, 404),
    },
    tags=["Serverless"],
)
def status(instance_id: InstanceId) -> Response[str]:
    answer = serverless_service().status(authorize(router, "instances.view"), instance_id)
    return json_response(Envelope[ServerlessOut](data=_out(answer)))


@router.post(
    "/api/v1/serverless/pause/<instance_id>",
    summary="Pause (hibernate) now",
    responses={**ok_response(Envelope[ServerlessOut], "Hibernating"), **error_responses(401, 403, 404, 409)},
    tags=["Serverless"],
)
def pause(instance_id: InstanceId) -> Response[str]:
    # The answer is built from the instance as hibernating left it: no second read.
    instance, _ = snapshot_service().hibernate(authorize(router, "instances.operate"), instance_id, "paused")
    return json_response(Envelope[ServerlessOut](data=_out(serverless_status(instance))))


@router.post(
    "/api/v1/serverless/resume/<instance_id>",
    summary="Resume (wake)",
    responses={**ok_response(Envelope[ServerlessOut], "Waking"), **error_responses(401, 403, 404, 409)},
    tags=["Serverless"],
)
def resume(instance_id: InstanceId) -> Response[str]:
    instance = snapshot_service().wake(authorize(router, "instances.operate"), instance_id)
    return json_response(Envelope[ServerlessOut](data=_out(serverless_status(instance))))


@router.get(
    "/api/v1/instances/<instance_id>/metrics",
    summary="An instance's metrics",
    description="From the agent's heartbeats: 1-minute points over 1h, 15-minute over 24h, hourly over 7d, "
    "6-hourly over 30d.",
    responses={**ok_response(MetricsOut, "Points, oldest first"), **error_responses(400, 401, 403, 404)},
    tags=["Instances"],
)
def metrics(
    instance_id: InstanceId,
    period: Annotated[Literal["1h", "24h", "7d", "30d"], Query()] = "24h",
    metrics: Annotated[
        str, Query(max_length=100, description="Any of gpu_util, gpu_mem, cpu, ram, comma-separated")
    ] = "gpu_util,gpu_mem,cpu,ram",
) -> Response[str]:
    wanted = [name.strip() for name in metrics.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in METRIC_NAMES]
    if unknown or not wanted:
        message = f"unknown metrics: {', '.join(unknown)}" if unknown else "name at least one metric"
        raise ValidationFailed(
            f"{message}; choose from {', '.join(METRIC_NAMES)}",
            details={"fields": [{"field": "metrics", "message": message}]},
        )
    points = agent_service().metrics(authorize(router, "instances.view"), instance_id, period)
    fields = {METRIC_NAMES[name] for name in wanted}
    data = [
        MetricsPoint(
            timestamp=point.timestamp, **{key: value for key, value in point.values.items() if key in fields}
        )
        for point in points
    ]
    return json_response(MetricsOut(instance_id=instance_id, period=period, data=data))


@router.get(
    "/api/metrics/hibernation/events",
    summary="Hibernation history",
    description="Every hibernation of your team's instances in the last `days` days, newest first, and what "
    "they saved.",
    responses={**ok_response(HibernationEvents, "Hibernations"), **error_responses(400, 401, 403)},
    tags=["Hibernation"],
)
def hibernation_events(days: Annotated[int, Query(ge=1, le=365)] = 7) -> Response[str]:
    records = serverless_service().hibernations(authorize(router, "billing.view"), days)
    events = [HibernationEvent(**record.__dict__) for record in records]
    return json_response(
        HibernationEvents(events=events, total_savings=round(sum(event.saved for event in events), 2))
    )
