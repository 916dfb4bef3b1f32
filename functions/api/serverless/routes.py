"""Serverless mode (`/api/v1/serverless/…`) and the hibernation history (`/api/metrics/hibernation/…`)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from api.instances.schemas import ServerlessStatusView
from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import Envelope, InstanceId
from api.serverless.schemas import EnableRequest, HibernationHistoryView, InstanceRequest
from dumont_core import composition
from dumont_core.serverless.models import ServerlessStatus

routes = DomainRoutes(tag="Serverless")


def answer(status: ServerlessStatus) -> Response[str]:
    return json_response(Envelope[ServerlessStatusView](data=ServerlessStatusView.model_validate(status)))


@routes.operation(
    "POST",
    "/api/v1/serverless/enable",
    Envelope[ServerlessStatusView],
    "instances.operate",
    errors=(400, 404, 409),
)
def enable(caller: Caller, body: Annotated[EnableRequest, Body(embed=False)]) -> Response[str]:
    """Turn serverless mode on

    The instance hibernates by itself once its GPU stayed under `gpu_threshold` for
    `idle_timeout_minutes`, counted from heartbeats: a machine that stops reporting never counts as
    idle."""
    service = composition.serverless()
    return answer(service.enable(caller, body.instance_id, body.idle_timeout_minutes, body.gpu_threshold))


@routes.operation(
    "POST",
    "/api/v1/serverless/disable",
    Envelope[ServerlessStatusView],
    "instances.operate",
    errors=(400, 404, 409),
)
def disable(caller: Caller, body: Annotated[InstanceRequest, Body(embed=False)]) -> Response[str]:
    """Turn serverless mode off"""
    return answer(composition.serverless().disable(caller, body.instance_id))


@routes.operation(
    "GET",
    "/api/v1/serverless/status/{instance_id}",
    Envelope[ServerlessStatusView],
    "instances.view",
    errors=(404,),
)
def status(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Serverless status"""
    return answer(composition.serverless().status(caller, instance_id))


@routes.operation(
    "POST",
    "/api/v1/serverless/pause/{instance_id}",
    Envelope[ServerlessStatusView],
    "instances.operate",
    errors=(404, 409),
)
def pause(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Pause (hibernate) now"""
    return answer(composition.serverless().pause(caller, instance_id))


@routes.operation(
    "POST",
    "/api/v1/serverless/resume/{instance_id}",
    Envelope[ServerlessStatusView],
    "instances.operate",
    errors=(402, 404, 409),
)
def resume(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Resume (wake)"""
    return answer(composition.serverless().resume(caller, instance_id))


@routes.operation(
    "GET",
    "/api/metrics/hibernation/events",
    HibernationHistoryView,
    "billing.view",
    errors=(400,),
    tag="Hibernation",
)
def hibernation_events(caller: Caller, days: Annotated[int, Query(ge=1, le=365)] = 7) -> Response[str]:
    """Hibernation history

    Every hibernation of your team's instances in the last `days` days, newest first, and what they saved."""
    records = composition.serverless().hibernations(caller, days)
    history = HibernationHistoryView.model_validate(
        # Summed as the events show them, so the total is what a reader adding them up gets.
        {"events": records, "total_savings": round(sum(record.saved for record in records), 4)}
    )
    return json_response(history)
