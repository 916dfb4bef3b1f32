"""Failover (`/api/v1/failover/…`): its setup, where it stands, and drills."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from api.failover.schemas import ConfigureRequest, FailoverStatusView
from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import Envelope, InstanceId
from dumont_core import composition
from dumont_core.failover.models import FailoverStatus

routes = DomainRoutes(tag="Failover")


def answer(status: FailoverStatus, status_code: int = 200) -> Response[str]:
    view = FailoverStatusView.model_validate(status)
    return json_response(Envelope[FailoverStatusView](data=view), status_code)


@routes.operation(
    "GET",
    "/api/v1/failover/status/{instance_id}",
    Envelope[FailoverStatusView],
    "instances.view",
    errors=(404,),
)
def failover_status(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Where failover stands

    Its setup, the last completed snapshot a failover would come back from and how long ago that was
    (what a failover now would lose), and every failover so far with its reason and outcome."""
    return answer(composition.failover().status(caller, instance_id))


@routes.operation(
    "POST",
    "/api/v1/failover/configure",
    Envelope[FailoverStatusView],
    "instances.operate",
    errors=(400, 404, 409),
)
def configure(caller: Caller, body: Annotated[ConfigureRequest, Body(embed=False)]) -> Response[str]:
    """Set failover up

    With failover on, an instance whose machine dies comes back by itself on a new machine from its
    last completed snapshot."""
    service = composition.failover()
    return answer(
        service.configure(
            caller,
            body.instance_id,
            enabled=body.enabled,
            strategy=body.strategy,
            checkpoint_interval_minutes=body.checkpoint_interval_minutes,
        )
    )


@routes.operation(
    "POST",
    "/api/v1/failover/trigger/{instance_id}",
    Envelope[FailoverStatusView],
    "instances.operate",
    status=202,
    errors=(404, 409),
)
def trigger(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Drill a failover

    The running instance gives its machine up as if it had died (`failover.triggered`, then
    `instance.interrupted` with reason `drill`) and comes back on a new machine from its last completed
    snapshot, as on a real failure: what changed since that snapshot (`data_at_risk_seconds` in the
    status) is lost, as it would be. It needs failover on and a completed snapshot."""
    return answer(composition.failover().trigger(caller, instance_id), 202)
