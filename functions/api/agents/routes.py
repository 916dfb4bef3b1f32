"""`/api/agent/…`: what the agents on our machines call (heartbeats, action results, snapshot uploads and
downloads, log lines), and the team's view of its agents."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from api.agents.schemas import (
    AcceptedView,
    ActionId,
    ActionReportRequest,
    AgentListView,
    AgentSnapshotId,
    DownloadPlanView,
    HeartbeatRequest,
    HeartbeatView,
    LogBatchRequest,
    LogsKeptView,
    UploadPlanView,
    UploadRequest,
)
from api.responses import json_response
from api.routing import Caller, DomainRoutes
from dumont_core import composition
from dumont_core.access.permissions import AGENT_PERMISSION
from dumont_core.agents.models import LogLine
from dumont_core.platform.errors import Forbidden
from dumont_core.snapshots.models import ChunkPlan

routes = DomainRoutes(tag="Agent")


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
    answered = composition.agents().heartbeat(
        agent, body.reading(), wants_ssh_keys=body.ssh_keys_wanted, keys_version_held=body.ssh_keys_version
    )
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

    The agent lists every chunk of the snapshot, or with `append` a batch more of them; the answer has
    upload URLs for those of the request S3 does not hold yet, and for the manifest."""
    chunks = [ChunkPlan.model_validate(chunk.model_dump()) for chunk in body.chunks]
    plan = composition.snapshots().plan_uploads(agent, snapshot_id, chunks, append=body.append)
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
