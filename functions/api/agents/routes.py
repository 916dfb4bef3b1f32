"""`/api/agent/…`: what the agents on our machines call (heartbeats, action results, snapshot uploads and
downloads, log lines), and the team's view of its agents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import ConfigDict, Field

from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import RequestBody, View
from dumont_core import composition
from dumont_core.access.permissions import AGENT_PERMISSION
from dumont_core.agents.models import AgentHealth, LogLine
from dumont_core.platform.errors import Forbidden
from dumont_core.snapshots.models import ChunkPlan

routes = DomainRoutes(tag="Agent")

Percent = Annotated[float, Field(ge=0, le=100)]
Gigabytes = Annotated[float, Field(ge=0, le=100_000)]
ActionId = Annotated[str, Path(max_length=64)]
AgentSnapshotId = Annotated[str, Path(max_length=64)]


class HeartbeatRequest(RequestBody):
    """What the agent reports; every reading is optional, so an agent that cannot read the GPU still
    reports CPU, RAM and disk."""

    model_config = ConfigDict(extra="allow", defer_build=True)

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


class HeartbeatView(View):
    """When to report next, and what to do."""

    success: Literal[True] = True
    next_heartbeat_in_seconds: int
    actions: list[dict[str, Any]] = Field(
        description="What the agent is asked to do: `{id, type, ...}`; it reports back on "
        "`POST /api/agent/actions/{id}`."
    )


class ActionReportRequest(RequestBody):
    status: Literal["running", "completed", "failed"]
    result: dict[str, Any] | None = None
    error: str | None = Field(default=None, max_length=4_000)


class AcceptedView(View):
    """Recorded."""

    success: Literal[True] = True


class AgentView(View, AgentHealth):
    """An agent's health, from the age of its last heartbeat."""


class AgentListView(View):
    """The agents of your team's running machines."""

    instances: list[AgentView]


class ChunkRequest(RequestBody):
    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the chunk's uncompressed bytes")
    size: int = Field(ge=0)
    stored_size: int = Field(ge=0)


class UploadRequest(RequestBody):
    chunks: list[ChunkRequest] = Field(max_length=200_000)


class UploadPlanView(View):
    """Where to upload the chunks S3 lacks, and the manifest."""

    uploads: dict[str, str] = Field(description="digest -> presigned PUT URL, for the chunks S3 lacks")
    manifest_url: str


class DownloadPlanView(View):
    """Where to download the manifest and every chunk."""

    manifest_url: str
    chunks: dict[str, str] = Field(description="digest -> presigned GET URL")


class LogLineRequest(RequestBody):
    timestamp: datetime
    message: str = Field(max_length=32_000)


class LogBatchRequest(RequestBody):
    lines: list[LogLineRequest] = Field(max_length=10_000)


class LogsKeptView(View):
    """How many lines were kept."""

    success: Literal[True] = True
    kept: int


@routes.operation("POST", "/api/agent/status", HeartbeatView, AGENT_PERMISSION, errors=(400,))
def heartbeat(agent: Caller, body: Annotated[HeartbeatRequest, Body(embed=False)]) -> Response[str]:
    """Agent heartbeat

    Sent by the agent on each machine with `Authorization: Bearer dumont_ag_…`. Answers when to report
    next and the actions to carry out."""
    if body.instance_id is not None and body.instance_id != agent.instance_id:
        raise Forbidden(
            f"This agent token belongs to {agent.instance_id}, not {body.instance_id}",
            details={"instance_id": body.instance_id},
        )
    answered = composition.agents().heartbeat(agent, body.reading())
    return json_response(HeartbeatView.model_validate(answered))


@routes.operation(
    "POST", "/api/agent/actions/{action_id}", AcceptedView, AGENT_PERMISSION, errors=(400, 404, 409)
)
def report_action(
    agent: Caller, action_id: ActionId, body: Annotated[ActionReportRequest, Body(embed=False)]
) -> Response[str]:
    """Report on an action

    `running` when the agent starts it; `completed` with its result, or `failed` with a reason."""
    composition.agents().report(agent, action_id, body.status, body.result, body.error)
    return json_response(AcceptedView())


@routes.operation("GET", "/api/agent/instances", AgentListView, "instances.view")
def agent_instances(caller: Caller) -> Response[str]:
    """Your machines' agents

    Health from the age of the last heartbeat: healthy within 3 intervals, late within 10, then lost;
    unknown before the first."""
    agents = composition.agents().health(caller)
    return json_response(AgentListView.model_validate({"instances": agents}))


@routes.operation(
    "POST",
    "/api/agent/snapshots/{snapshot_id}/uploads",
    UploadPlanView,
    AGENT_PERMISSION,
    errors=(400, 404, 409),
)
def plan_uploads(
    agent: Caller, snapshot_id: AgentSnapshotId, body: Annotated[UploadRequest, Body(embed=False)]
) -> Response[str]:
    """Where to upload a snapshot's chunks

    The agent lists every chunk of the snapshot; the answer has upload URLs for those S3 does not hold
    yet, and for the manifest."""
    chunks = [ChunkPlan.model_validate(chunk.model_dump()) for chunk in body.chunks]
    plan = composition.snapshots().plan_uploads(agent, snapshot_id, chunks)
    return json_response(UploadPlanView.model_validate(plan))


@routes.operation(
    "GET",
    "/api/agent/snapshots/{snapshot_id}/downloads",
    DownloadPlanView,
    AGENT_PERMISSION,
    errors=(404, 409),
)
def plan_downloads(agent: Caller, snapshot_id: AgentSnapshotId) -> Response[str]:
    """Where to download a snapshot from"""
    plan = composition.snapshots().plan_downloads(agent, snapshot_id)
    return json_response(DownloadPlanView.model_validate(plan))


@routes.operation("POST", "/api/agent/logs", LogsKeptView, AGENT_PERMISSION, errors=(400,))
def ship_logs(agent: Caller, body: Annotated[LogBatchRequest, Body(embed=False)]) -> Response[str]:
    """Ship the machine's log lines"""
    lines = [LogLine.model_validate(line.model_dump()) for line in body.lines]
    return json_response(LogsKeptView(kept=composition.agents().ship_logs(agent, lines)))
