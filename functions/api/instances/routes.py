"""`/api/v1/instances…`: an instance's life, its timeline, its metrics and its logs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from api.idempotency import once
from api.instances.schemas import (
    METRIC_NAMES,
    CreatedInstanceView,
    CreateInstanceRequest,
    EventListView,
    InstanceDetailView,
    InstanceLogsView,
    InstanceView,
    MetricsPointView,
    MetricsSeriesView,
    NewSshKeyRequest,
    SshKeyView,
    canonical_gpu_type,
    instance_detail,
)
from api.responses import json_response
from api.routing import Caller, DemoMode, DomainRoutes, in_demo
from api.schemas import LOG_TIMES, Envelope, InstanceId, ListEnvelope, PageView, is_log_time
from dumont_core import composition
from dumont_core.instances.models import Instance, InstanceStatus, PowerAction
from dumont_core.platform.clock import utc_now
from dumont_core.platform.errors import ValidationFailed
from dumont_core.platform.settings import WorkflowSettings, load_settings

routes = DomainRoutes(tag="Instances")


def invalid_field(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"fields": [{"field": field, "message": message}]})


def detail(instance: Instance, status_code: int = 200) -> Response[str]:
    return json_response(Envelope[InstanceDetailView](data=instance_detail(instance, utc_now())), status_code)


@routes.operation(
    "GET", "/api/v1/instances", ListEnvelope[InstanceView], "instances.view", errors=(400,), demo=True
)
def list_instances(
    caller: Caller,
    status: Annotated[InstanceStatus | None, Query(description="Only instances in this status")] = None,
    gpu_type: Annotated[str | None, Query(description="Only instances of this GPU type")] = None,
    page: Annotated[int, Query(ge=1, description="Page number, from 1")] = 1,
    per_page: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 20,
    demo: DemoMode = False,
) -> Response[str]:
    """List instances

    Your team's instances, newest first. Deleted instances are listed only with status=deleted. With
    `demo=true`, the demo fleet instead, credentials or not."""
    try:
        gpu_filter = canonical_gpu_type(gpu_type) if gpu_type else None
    except ValueError as error:
        raise invalid_field("gpu_type", str(error)) from None
    filters: dict[str, Any] = {"status": status, "gpu_type": gpu_filter, "page": page, "per_page": per_page}
    if in_demo(caller, demo):
        found = composition.demo().list_page(**filters)
    else:
        found = composition.instances().list_page(caller, **filters)
    return json_response(
        ListEnvelope[InstanceView](
            data=[InstanceView.model_validate(instance) for instance in found.items],
            meta=PageView.model_validate(found),
        )
    )


@routes.operation(
    "POST",
    "/api/v1/instances",
    Envelope[CreatedInstanceView],
    "instances.create",
    status=201,
    errors=(400, 402, 409),
    demo=True,
)
def create_instance(
    caller: Caller, body: Annotated[CreateInstanceRequest, Body(embed=False)], demo: DemoMode = False
) -> Response[str]:
    """Create an instance

    Rents the cheapest matching GPU and boots it. Poll the instance until `running`. Send an
    `Idempotency-Key` header to make retries safe: the same key and body within 24 h answer the first
    response instead of renting another machine. With `demo=true`, a demo instance: nothing is rented or
    stored, and reading it back (with `demo=true`) shows it boot."""
    if in_demo(caller, demo):
        instance = composition.demo().create(body.to_spec())
        ready = load_settings(WorkflowSettings).estimated_ready_seconds
        created = CreatedInstanceView(
            id=instance.instance_id, status=instance.status, estimated_ready_seconds=ready
        )
        return json_response(Envelope[CreatedInstanceView](data=created), 201)

    def create() -> dict[str, Any]:
        instance = composition.instances().create(caller, body.to_spec())
        ready = load_settings(WorkflowSettings).estimated_ready_seconds
        created = CreatedInstanceView(
            id=instance.instance_id, status=instance.status, estimated_ready_seconds=ready
        )
        return created.model_dump(mode="json")

    created = CreatedInstanceView.model_validate(once(caller.team_id, "create_instance", body, create))
    return json_response(Envelope[CreatedInstanceView](data=created), 201)


@routes.operation(
    "GET",
    "/api/v1/instances/{instance_id}",
    Envelope[InstanceDetailView],
    "instances.view",
    errors=(404,),
    demo=True,
)
def get_instance(caller: Caller, instance_id: InstanceId, demo: DemoMode = False) -> Response[str]:
    """Get an instance

    With `demo=true`, a machine of the demo fleet or a demo instance you created."""
    if in_demo(caller, demo):
        return detail(composition.demo().get(instance_id))
    return detail(composition.instances().get(caller, instance_id))


def _power_action(caller: Caller, instance_id: str, action: PowerAction) -> Response[str]:
    return detail(composition.instances().request_power_action(caller, instance_id, action), 202)


def _change(method: Literal["POST", "DELETE"], path: str, permission: str, *, rents: bool = False) -> Any:
    """A route that asks for a change of the instance and answers it as the change begins; one that rents
    a machine is refused when the balance does not pay an hour of it (402)."""
    errors = (402, 404, 409) if rents else (404, 409)
    return routes.operation(method, path, Envelope[InstanceDetailView], permission, status=202, errors=errors)


@_change("POST", "/api/v1/instances/{instance_id}/start", "instances.operate", rents=True)
def start_instance(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Start a stopped instance"""
    return _power_action(caller, instance_id, PowerAction.START)


@_change("POST", "/api/v1/instances/{instance_id}/stop", "instances.operate")
def stop_instance(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Stop a running instance"""
    return _power_action(caller, instance_id, PowerAction.STOP)


@_change("POST", "/api/v1/instances/{instance_id}/reboot", "instances.operate")
def reboot_instance(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Reboot a running instance"""
    return _power_action(caller, instance_id, PowerAction.REBOOT)


@_change("DELETE", "/api/v1/instances/{instance_id}", "instances.delete")
def delete_instance(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Destroy an instance

    Destroys the machine at the provider; the instance ends `deleted`.
    """
    return detail(composition.instances().delete(caller, instance_id), 202)


def _read(path: str, answer: Any, errors: tuple[int, ...]) -> Any:
    """A route that reads about an instance, in demo mode too (`?demo=true`: a demo instance's)."""
    return routes.operation("GET", path, answer, "instances.view", errors=errors, demo=True)


@_read("/api/v1/instances/{instance_id}/events", Envelope[EventListView], (404,))
def list_instance_events(caller: Caller, instance_id: InstanceId, demo: DemoMode = False) -> Response[str]:
    """What happened to an instance"""
    if in_demo(caller, demo):
        events = composition.demo().events(instance_id)
    else:
        events = composition.instances().events(caller, instance_id)
    listing = EventListView.model_validate({"instance_id": instance_id, "events": events})
    return json_response(Envelope[EventListView](data=listing))


@_read("/api/v1/instances/{instance_id}/metrics", MetricsSeriesView, (400, 404))
def instance_metrics(
    caller: Caller,
    instance_id: InstanceId,
    period: Annotated[Literal["1h", "24h", "7d", "30d"], Query()] = "24h",
    metrics: Annotated[
        str, Query(max_length=100, description="Any of gpu_util, gpu_mem, cpu, ram, comma-separated")
    ] = "gpu_util,gpu_mem,cpu,ram",
    demo: DemoMode = False,
) -> Response[str]:
    """An instance's metrics

    From the agent's heartbeats: 1-minute points over 1h, 15-minute over 24h, hourly over 7d, 6-hourly
    over 30d."""
    wanted = [name.strip() for name in metrics.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in METRIC_NAMES]
    if unknown or not wanted:
        problem = f"unknown metrics: {', '.join(unknown)}" if unknown else "name at least one metric"
        raise ValidationFailed(
            f"{problem}; choose from {', '.join(METRIC_NAMES)}",
            details={"fields": [{"field": "metrics", "message": problem}]},
        )
    if in_demo(caller, demo):
        points = composition.demo().metrics(instance_id, period)
    else:
        points = composition.instances().metrics(caller, instance_id, period)
    fields = {METRIC_NAMES[name] for name in wanted}
    data = [
        MetricsPointView(
            timestamp=point.timestamp, **{key: value for key, value in point.values.items() if key in fields}
        )
        for point in points
    ]
    return json_response(MetricsSeriesView(instance_id=instance_id, period=period, data=data))


@_read("/api/v1/instances/{instance_id}/logs", Envelope[InstanceLogsView], (400, 404))
def instance_logs(
    caller: Caller,
    instance_id: InstanceId,
    lines: Annotated[int, Query(ge=1, le=10_000)] = 100,
    since: Annotated[datetime | None, Query(description="ISO 8601, e.g. 2025-03-01T12:00:00Z")] = None,
    demo: DemoMode = False,
) -> Response[str]:
    """An instance's logs

    What the agent shipped from the machine's logs, oldest first: the last `lines` lines, from `since` on
    if given."""
    if since is not None and not is_log_time(since):
        raise invalid_field("since", f"since must be {LOG_TIMES}")
    found: list[Any]
    if in_demo(caller, demo):
        shown = composition.demo().logs(instance_id, lines, since)
        found = [{"timestamp": at, "message": message} for at, message in shown]
    else:
        found = composition.agents().read_logs(caller, instance_id, lines, since)
    listing = InstanceLogsView.model_validate({"instance_id": instance_id, "lines": found})
    return json_response(Envelope[InstanceLogsView](data=listing))


@routes.operation(
    "POST",
    "/api/v1/instances/{instance_id}/ssh-keys",
    Envelope[SshKeyView],
    "instances.operate",
    status=201,
    errors=(400, 404, 409),
)
def add_ssh_key(
    caller: Caller, instance_id: InstanceId, body: Annotated[NewSshKeyRequest, Body(embed=False)]
) -> Response[str]:
    """Authorize an SSH key

    Installed on the running machine within a heartbeat, and on every machine the instance runs on
    later (after a stop, a wake or a failover). A key already authorized is refused with 409."""

    def add() -> dict[str, Any]:
        key = composition.ssh_keys().add(caller, instance_id, body.public_key, body.name)
        return SshKeyView.model_validate(key).model_dump(mode="json")

    added = SshKeyView.model_validate(once(caller.team_id, f"add_ssh_key:{instance_id}", body, add))
    return json_response(Envelope[SshKeyView](data=added), 201)


@_read("/api/v1/instances/{instance_id}/ssh-keys", Envelope[list[SshKeyView]], (404,))
def list_ssh_keys(caller: Caller, instance_id: InstanceId, demo: DemoMode = False) -> Response[str]:
    """List the SSH keys of an instance"""
    if in_demo(caller, demo):
        keys = composition.demo().ssh_keys(instance_id)
    else:
        keys = composition.ssh_keys().keys(caller, instance_id)
    return json_response(Envelope[list[SshKeyView]].model_validate({"data": keys}))


@routes.operation(
    "DELETE",
    "/api/v1/instances/{instance_id}/ssh-keys/{key_id}",
    Envelope[SshKeyView],
    "instances.operate",
    errors=(404, 409),
)
def remove_ssh_key(
    caller: Caller, instance_id: InstanceId, key_id: Annotated[str, Path(max_length=64)]
) -> Response[str]:
    """Remove an SSH key

    Taken out of the running machine's `authorized_keys` within a heartbeat."""
    removed = composition.ssh_keys().remove(caller, instance_id, key_id)
    return json_response(Envelope[SshKeyView](data=SshKeyView.model_validate(removed)))
