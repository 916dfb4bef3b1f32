"""The instance routes of the older API documents (`/api/machines`, `/api/instances…`), answering in
the shapes those documents show, and hibernation and waking, which only they describe."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import AliasChoices, Field

from api.idempotency import once
from api.instances.schemas import CreateInstanceRequest, InstanceDetailView, instance_detail
from api.responses import json_response
from api.routing import Caller, DemoMode, DomainRoutes, in_demo
from api.schemas import InstanceId, View
from dumont_core import composition
from dumont_core.instances.charges import cost_accumulated_at
from dumont_core.instances.models import Instance, InstanceStatus
from dumont_core.platform.clock import utc_now
from dumont_core.platform.settings import BillingSettings, WorkflowSettings, load_settings
from dumont_core.providers.catalog import find_gpu_type

routes = DomainRoutes(tag="Unversioned")


class MachineView(View):
    id: str = Field(validation_alias=AliasChoices("id", "instance_id"))
    name: str | None
    gpu_name: str
    status: InstanceStatus
    cost_per_hour: float | None
    region: str | None


class MachineListView(View):
    """Your team's machines."""

    machines: list[MachineView]


class CreatedMachineView(View):
    """The new machine, being created."""

    id: str
    instance_id: str
    status: Literal["creating"]
    gpu_name: str
    ip: str | None
    estimated_ready: datetime


class TerminatingView(View):
    """The instance is being terminated; what it cost."""

    message: str
    final_cost: float


class HibernatingView(View):
    """The instance is hibernating: its workspace is being saved, then the machine released."""

    message: str
    status: str
    snapshot_id: str
    savings_per_hour: float = Field(description="What the machine costs per hour; not billed once hibernated")


class WakingView(View):
    """The instance is waking up."""

    message: str
    status: str
    estimated_ready: datetime


def region_as_documented(region: str | None) -> str | None:
    """The older documents spell regions `US-East`: parts of two letters in capitals, others capitalised."""
    if region is None:
        return None
    return "-".join(part.upper() if len(part) <= 2 else part.capitalize() for part in region.split("-"))


def machine(instance: Instance) -> MachineView:
    """The older documents name a machine's GPU as the provider does (`RTX 4090`)."""
    gpu = find_gpu_type(instance.gpu_type)
    gpu_name = instance.gpu_name or (gpu.provider_names[0] if gpu else instance.gpu_type)
    return MachineView.model_validate(
        {**instance.model_dump(), "gpu_name": gpu_name, "region": region_as_documented(instance.region)}
    )


def estimated_ready(after: datetime, boots: int = 1) -> datetime:
    return after + timedelta(seconds=load_settings(WorkflowSettings).estimated_ready_seconds * boots)


@routes.operation("GET", "/api/machines", MachineListView, "instances.view", demo=True)
def list_machines(caller: Caller, demo: DemoMode = False) -> Response[str]:
    """List machines (unversioned)

    With `demo=true`, the demo fleet, credentials or not."""
    if in_demo(caller, demo):
        instances = composition.demo().fleet()
    else:
        instances = composition.instances().list_all(caller)
    return json_response(MachineListView(machines=[machine(instance) for instance in instances]))


def _created(instance: Instance) -> CreatedMachineView:
    return CreatedMachineView(
        id=instance.instance_id,
        instance_id=instance.instance_id,
        status="creating",
        gpu_name=machine(instance).gpu_name,
        ip=None,
        estimated_ready=estimated_ready(instance.created_at),
    )


@routes.operation(
    "POST", "/api/instances", CreatedMachineView, "instances.create", status=201, errors=(400, 402), demo=True
)
def create_instance(
    caller: Caller, body: Annotated[CreateInstanceRequest, Body(embed=False)], demo: DemoMode = False
) -> Response[str]:
    """Create an instance (unversioned)

    With `demo=true`, a demo instance: nothing is rented or stored."""
    if in_demo(caller, demo):
        return json_response(_created(composition.demo().create(body.to_spec())), 201)

    def create() -> dict[str, Any]:
        return _created(composition.instances().create(caller, body.to_spec())).model_dump(mode="json")

    created = CreatedMachineView.model_validate(once(caller.team_id, "legacy_create_instance", body, create))
    return json_response(created, 201)


@routes.operation(
    "GET", "/api/instances/{instance_id}", InstanceDetailView, "instances.view", errors=(404,), demo=True
)
def get_instance(caller: Caller, instance_id: InstanceId, demo: DemoMode = False) -> Response[str]:
    """Get an instance (unversioned)

    With `demo=true`, a machine of the demo fleet or a demo instance you created."""
    if in_demo(caller, demo):
        return json_response(instance_detail(composition.demo().get(instance_id), utc_now()))
    return json_response(instance_detail(composition.instances().get(caller, instance_id), utc_now()))


@routes.operation(
    "DELETE", "/api/instances/{instance_id}", TerminatingView, "instances.delete", errors=(404, 409)
)
def terminate_instance(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Terminate an instance (unversioned)"""
    instance = composition.instances().delete(caller, instance_id)
    final_cost = cost_accumulated_at(instance, utc_now(), load_settings(BillingSettings).platform_margin)
    return json_response(
        TerminatingView(message=f"Instance {instance_id} terminating", final_cost=final_cost)
    )


@routes.operation(
    "POST",
    "/api/instances/{instance_id}/hibernate",
    HibernatingView,
    "instances.operate",
    errors=(404, 409),
    tag="Hibernation",
)
def hibernate(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Hibernate an instance

    Snapshots the workspace, verifies it, then destroys the machine: nothing is billed until it wakes. If
    the snapshot fails the machine keeps running and the instance says why."""
    instance, snapshot = composition.snapshots().hibernate(caller, instance_id, "hibernation requested")
    return json_response(
        HibernatingView(
            message="Instance hibernating: its workspace is being saved, then the machine is released",
            status=instance.status.value,
            snapshot_id=snapshot.snapshot_id,
            savings_per_hour=instance.savings_per_hour,
        )
    )


@routes.operation(
    "POST",
    "/api/instances/{instance_id}/wake",
    WakingView,
    "instances.operate",
    errors=(402, 404, 409),
    tag="Hibernation",
)
def wake(caller: Caller, instance_id: InstanceId) -> Response[str]:
    """Wake a hibernated instance

    Rents a matching machine, restores the workspace onto it, and runs again with the same id."""
    instance = composition.snapshots().wake(caller, instance_id)
    # Waking boots a machine and then restores the workspace onto it.
    ready = estimated_ready(utc_now(), boots=2)
    return json_response(
        WakingView(message="Instance waking up", status=instance.status.value, estimated_ready=ready)
    )
