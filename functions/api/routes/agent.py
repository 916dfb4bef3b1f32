"""The instance agent's routes (heartbeat, action results) and the team's view of its agents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from api.context import authorize, error_responses, json_response, ok_response
from api.schemas import Envelope
from dumont_core.agents.factory import agent_service
from dumont_core.agents.logs import LogLine
from dumont_core.agents.service import AGENT_PERMISSION
from dumont_core.errors import Forbidden
from dumont_core.services.snapshot_factory import snapshot_service
from dumont_core.services.snapshots import ChunkPlan

router = APIGatewayRouter()

Percent = Annotated[float, Field(ge=0, le=100)]
Gigabytes = Annotated[float, Field(ge=0, le=100_000)]


class HeartbeatBody(BaseModel):
    """What the agent reports; every reading is optional, so an agent that cannot read the GPU still
    reports CPU, RAM and disk."""

    model_config = ConfigDict(extra="allow")

    instance_id: str | None = Field(default=None, max_length=64, description="Must be the token's instance")
    status: str | None = Field(default=None, max_length=32, description="What the agent sees, e.g. running")
    gpu_utilization: Percent | None = None
    gpu_memory_used_gb: Gigabytes | None = None
    vram_used_gb: Gigabytes | None = Field(default=None, description="Same as gpu_memory_used_gb")
    gpu_memory_total_gb: Gigabytes | None = None
    gpu_temperature: float | None = Field(default=None, ge=-50, le=200)
    gpu_count: int | None = Field(default=None, ge=0, le=64)
    gpu_source: str | None = Field(default=None, max_length=32)
    gpu_note: str | None = Field(default=None, max_length=500)
    cpu_utilization: Percent | None = None
    ram_used_gb: Gigabytes | None = None
    ram_total_gb: Gigabytes | None = None
    disk_used_gb: Gigabytes | None = None
    disk_total_gb: Gigabytes | None = None
    cost_accumulated: float | None = Field(default=None, ge=0)

    def reading(self) -> dict[str, Any]:
        values = self.model_dump(exclude_none=True, exclude={"instance_id", "vram_used_gb"})
        if self.gpu_memory_used_gb is None and self.vram_used_gb is not None:
            values["gpu_memory_used_gb"] = self.vram_used_gb
        # Extra fields (per-GPU lists and the like) are kept as sent, within reason.
        return {key: value for key, value in values.items() if len(str(value)) <= 4_000}


class HeartbeatAnswerOut(BaseModel):
    success: Literal[True] = True
    next_heartbeat_in_seconds: int
    actions: list[dict[str, Any]] = Field(
        description="What the agent is asked to do: `{id, type, ...}`; it reports back on "
        "`POST /api/agent/actions/{id}`."
    )


class ActionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["running", "completed", "failed"]
    result: dict[str, Any] | None = None
    error: str | None = Field(default=None, max_length=4_000)


class Accepted(BaseModel):
    success: Literal[True] = True


class AgentInstance(BaseModel):
    instance_id: str
    status: str
    last_heartbeat: datetime | None
    health: Literal["healthy", "late", "lost", "unknown"]
    gpu_utilization: float | None


class AgentInstances(BaseModel):
    instances: list[AgentInstance]


@router.post(
    "/api/agent/status",
    summary="Agent heartbeat",
    description="Sent by the agent on each machine with `Authorization: Bearer dumont_ag_…`. Answers when "
    "to report next and the actions to carry out.",
    responses={**ok_response(HeartbeatAnswerOut, "Reading kept"), **error_responses(400, 401, 403)},
    tags=["Agent"],
)
def heartbeat(body: Annotated[HeartbeatBody, Body(embed=False)]) -> Response[str]:
    agent = authorize(router, AGENT_PERMISSION)
    if body.instance_id is not None and body.instance_id != agent.instance_id:
        raise Forbidden(
            f"This agent token belongs to {agent.instance_id}, not {body.instance_id}",
            details={"instance_id": body.instance_id},
        )
    answer = agent_service().heartbeat(agent, body.reading())
    return json_response(
        HeartbeatAnswerOut(next_heartbeat_in_seconds=answer.next_heartbeat_in_seconds, actions=answer.actions)
    )


@router.post(
    "/api/agent/actions/<action_id>",
    summary="Report on an action",
    description="`running` when the agent starts it; `completed` with its result, or `failed` with a reason.",
    responses={**ok_response(Accepted, "Recorded"), **error_responses(400, 401, 403, 404, 409)},
    tags=["Agent"],
)
def report_action(
    action_id: Annotated[str, Path(max_length=64)], body: Annotated[ActionReport, Body(embed=False)]
) -> Response[str]:
    agent_service().report(
        authorize(router, AGENT_PERMISSION), action_id, body.status, body.result, body.error
    )
    return json_response(Accepted())


@router.get(
    "/api/agent/instances",
    summary="Your machines' agents",
    description="Health from the age of the last heartbeat: healthy within 3 intervals, late within 10, "
    "then lost; unknown before the first.",
    responses={**ok_response(AgentInstances, "Agents of running machines"), **error_responses(401, 403)},
    tags=["Agent"],
)
def agent_instances() -> Response[str]:
    health = agent_service().health(authorize(router, "instances.view"))
    return json_response(
        AgentInstances(
            instances=[
                AgentInstance(
                    instance_id=item.instance_id,
                    status=item.status,
                    last_heartbeat=item.last_heartbeat,
                    health=item.health,
                    gpu_utilization=item.gpu_utilization,
                )
                for item in health
            ]
        )
    )


class ChunkOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the chunk's uncompressed bytes")
    size: int = Field(ge=0)
    stored_size: int = Field(ge=0)


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chunks: list[ChunkOut] = Field(max_length=200_000)


class UploadPlanOut(BaseModel):
    uploads: dict[str, str] = Field(description="digest -> presigned PUT URL, for the chunks S3 lacks")
    manifest_url: str


class DownloadPlanOut(BaseModel):
    manifest_url: str
    chunks: dict[str, str] = Field(description="digest -> presigned GET URL")


@router.post(
    "/api/agent/snapshots/<snapshot_id>/uploads",
    summary="Where to upload a snapshot's chunks",
    description="The agent lists every chunk of the snapshot; the answer has upload URLs for those S3 does "
    "not hold yet, and for the manifest.",
    responses={**ok_response(UploadPlanOut, "Upload URLs"), **error_responses(400, 401, 403, 404, 409)},
    tags=["Agent"],
)
def plan_uploads(
    snapshot_id: Annotated[str, Path(max_length=64)], body: Annotated[UploadRequest, Body(embed=False)]
) -> Response[str]:
    chunks = [ChunkPlan(chunk.digest, chunk.size, chunk.stored_size) for chunk in body.chunks]
    plan = snapshot_service().plan_uploads(authorize(router, AGENT_PERMISSION), snapshot_id, chunks)
    return json_response(UploadPlanOut(uploads=plan.uploads, manifest_url=plan.manifest_url))


@router.get(
    "/api/agent/snapshots/<snapshot_id>/downloads",
    summary="Where to download a snapshot from",
    responses={**ok_response(DownloadPlanOut, "Download URLs"), **error_responses(401, 403, 404, 409)},
    tags=["Agent"],
)
def plan_downloads(snapshot_id: Annotated[str, Path(max_length=64)]) -> Response[str]:
    plan = snapshot_service().plan_downloads(authorize(router, AGENT_PERMISSION), snapshot_id)
    return json_response(DownloadPlanOut(manifest_url=plan.manifest_url, chunks=plan.chunks))


class LogLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timestamp: datetime
    message: str = Field(max_length=32_000)


class LogBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[LogLineIn] = Field(max_length=10_000)


class LogsKept(BaseModel):
    success: Literal[True] = True
    kept: int


class LogLineOut(BaseModel):
    timestamp: datetime
    message: str


class InstanceLogsOut(BaseModel):
    instance_id: str
    lines: list[LogLineOut]


@router.post(
    "/api/agent/logs",
    summary="Ship the machine's log lines",
    responses={**ok_response(LogsKept, "Lines kept"), **error_responses(400, 401, 403)},
    tags=["Agent"],
)
def ship_logs(body: Annotated[LogBatch, Body(embed=False)]) -> Response[str]:
    lines = [LogLine(line.timestamp, line.message) for line in body.lines]
    kept = agent_service().ship_logs(authorize(router, AGENT_PERMISSION), lines)
    return json_response(LogsKept(kept=kept))


@router.get(
    "/api/v1/instances/<instance_id>/logs",
    summary="An instance's logs",
    description="What the agent shipped from the machine's logs, oldest first: the last `lines` lines, "
    "from `since` on if given.",
    responses={**ok_response(Envelope[InstanceLogsOut], "Log lines"), **error_responses(400, 401, 403, 404)},
    tags=["Instances"],
)
def instance_logs(
    instance_id: Annotated[str, Path(max_length=64)],
    lines: Annotated[int, Query(ge=1, le=10_000)] = 100,
    since: Annotated[datetime | None, Query(description="ISO 8601, e.g. 2025-03-01T12:00:00Z")] = None,
) -> Response[str]:
    found = agent_service().logs(authorize(router, "instances.view"), instance_id, lines, since)
    out = InstanceLogsOut(
        instance_id=instance_id,
        lines=[LogLineOut(timestamp=line.timestamp, message=line.message) for line in found],
    )
    return json_response(Envelope[InstanceLogsOut](data=out))
