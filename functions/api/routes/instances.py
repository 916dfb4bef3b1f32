"""Instance routes: `/api/v1/instances…` and the unversioned routes of the older documents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from api.context import authorize, error_responses, instance_service, json_response, ok_response
from api.idempotency import IDEMPOTENCY_HEADER, run_once, validated_key
from api.schemas import (
    CreatedInstance,
    CreateInstanceBody,
    Envelope,
    EventList,
    InstanceDetail,
    InstanceSummary,
    LegacyCreated,
    LegacyDeleted,
    LegacyMachineList,
    ListEnvelope,
    PageMeta,
    canonical_gpu_type,
    event_view,
    instance_detail,
    instance_summary,
    legacy_machine,
)
from dumont_core.errors import ValidationFailed
from dumont_core.models import Instance, InstanceStatus, PowerAction, utc_now
from dumont_core.settings import get_settings

router = APIGatewayRouter()

InstanceId = Annotated[str, Path(description="Instance id, e.g. inst_3f9c…", max_length=64)]


def _detail(instance: Instance) -> InstanceDetail:
    return instance_detail(instance, utc_now(), get_settings())


@router.get(
    "/api/v1/instances",
    summary="List instances",
    description="Your team's instances, newest first. Deleted instances are listed only with status=deleted.",
    responses={
        **ok_response(ListEnvelope[InstanceSummary], "A page of instances"),
        **error_responses(400, 401, 403),
    },
    tags=["Instances"],
)
def list_instances(
    status: Annotated[InstanceStatus | None, Query(description="Only instances in this status")] = None,
    gpu_type: Annotated[str | None, Query(description="Only instances of this GPU type")] = None,
    page: Annotated[int, Query(ge=1, description="Page number, from 1")] = 1,
    per_page: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 20,
) -> Response[str]:
    try:
        gpu_filter = canonical_gpu_type(gpu_type) if gpu_type else None
    except ValueError as error:
        raise ValidationFailed(
            str(error), details={"fields": [{"field": "gpu_type", "message": str(error)}]}
        ) from None
    result = instance_service().list_page(
        authorize(router, "instances.view"), status=status, gpu_type=gpu_filter, page=page, per_page=per_page
    )
    return json_response(
        ListEnvelope[InstanceSummary](
            data=[instance_summary(instance) for instance in result.items],
            meta=PageMeta(page=result.page, per_page=result.per_page, total=result.total),
        )
    )


@router.post(
    "/api/v1/instances",
    summary="Create an instance",
    description="Rents the cheapest matching GPU and boots it. Poll the instance until `running`. "
    "Send an `Idempotency-Key` header to make retries safe: the same key and body within 24 h "
    "answer the first response instead of renting another machine.",
    responses={
        **ok_response(Envelope[CreatedInstance], "Provisioning started", 201),
        **error_responses(400, 401, 403, 409),
    },
    tags=["Instances"],
)
def create_instance(body: Annotated[CreateInstanceBody, Body(embed=False)]) -> Response[str]:
    def create() -> dict[str, Any]:
        instance = instance_service().create(principal, body.to_spec())
        return CreatedInstance(
            id=instance.instance_id,
            status=instance.status,
            estimated_ready_seconds=get_settings().estimated_ready_seconds,
        ).model_dump(mode="json")

    principal = authorize(router, "instances.create")
    created = _once(principal.team_id, "create_instance", body, create)
    return json_response(Envelope[CreatedInstance](data=CreatedInstance.model_validate(created)), 201)


def _once(
    team_id: str, route: str, body: CreateInstanceBody, action: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    return run_once(
        team_id=team_id,
        route=route,
        key=validated_key(router.current_event.headers.get(IDEMPOTENCY_HEADER)),
        body=body.model_dump(mode="json"),
        action=action,
    )


@router.get(
    "/api/v1/instances/<instance_id>",
    summary="Get an instance",
    responses={**ok_response(Envelope[InstanceDetail], "The instance"), **error_responses(401, 403, 404)},
    tags=["Instances"],
)
def get_instance(instance_id: InstanceId) -> Response[str]:
    instance = instance_service().get(authorize(router, "instances.view"), instance_id)
    return json_response(Envelope[InstanceDetail](data=_detail(instance)))


def _power_action(instance_id: str, action: PowerAction) -> Response[str]:
    instance = instance_service().request_power_action(
        authorize(router, "instances.operate"), instance_id, action
    )
    return json_response(Envelope[InstanceDetail](data=_detail(instance)), 202)


_ACTION_RESPONSES = {
    **ok_response(Envelope[InstanceDetail], "Accepted; the instance moves on", 202),
    **error_responses(401, 403, 404, 409),
}


@router.post(
    "/api/v1/instances/<instance_id>/start",
    summary="Start a stopped instance",
    responses=_ACTION_RESPONSES,
    tags=["Instances"],
)
def start_instance(instance_id: InstanceId) -> Response[str]:
    return _power_action(instance_id, PowerAction.START)


@router.post(
    "/api/v1/instances/<instance_id>/stop",
    summary="Stop a running instance",
    responses=_ACTION_RESPONSES,
    tags=["Instances"],
)
def stop_instance(instance_id: InstanceId) -> Response[str]:
    return _power_action(instance_id, PowerAction.STOP)


@router.post(
    "/api/v1/instances/<instance_id>/reboot",
    summary="Reboot a running instance",
    responses=_ACTION_RESPONSES,
    tags=["Instances"],
)
def reboot_instance(instance_id: InstanceId) -> Response[str]:
    return _power_action(instance_id, PowerAction.REBOOT)


@router.delete(
    "/api/v1/instances/<instance_id>",
    summary="Destroy an instance",
    description="Destroys the machine at the provider; the instance ends `deleted`.",
    responses=_ACTION_RESPONSES,
    tags=["Instances"],
)
def delete_instance(instance_id: InstanceId) -> Response[str]:
    instance = instance_service().delete(authorize(router, "instances.delete"), instance_id)
    return json_response(Envelope[InstanceDetail](data=_detail(instance)), 202)


@router.get(
    "/api/v1/instances/<instance_id>/events",
    summary="What happened to an instance",
    responses={**ok_response(Envelope[EventList], "Events, oldest first"), **error_responses(401, 403, 404)},
    tags=["Instances"],
)
def list_instance_events(instance_id: InstanceId) -> Response[str]:
    events = instance_service().events(authorize(router, "instances.view"), instance_id)
    listing = EventList(instance_id=instance_id, events=[event_view(event) for event in events])
    return json_response(Envelope[EventList](data=listing))


# Unversioned routes ------------------------------------------------------------------------------


@router.get(
    "/api/machines",
    summary="List machines (unversioned)",
    responses={**ok_response(LegacyMachineList, "Your machines"), **error_responses(401, 403)},
    tags=["Unversioned"],
)
def legacy_list_machines() -> Response[str]:
    instances = instance_service().list_all(authorize(router, "instances.view"))
    return json_response(LegacyMachineList(machines=[legacy_machine(instance) for instance in instances]))


@router.post(
    "/api/instances",
    summary="Create an instance (unversioned)",
    responses={**ok_response(LegacyCreated, "Provisioning started", 201), **error_responses(400, 401, 403)},
    tags=["Unversioned"],
)
def legacy_create_instance(body: Annotated[CreateInstanceBody, Body(embed=False)]) -> Response[str]:
    def create() -> dict[str, Any]:
        instance = instance_service().create(principal, body.to_spec())
        estimated_ready = instance.created_at + timedelta(seconds=get_settings().estimated_ready_seconds)
        return LegacyCreated(
            id=instance.instance_id,
            instance_id=instance.instance_id,
            status="creating",
            gpu_name=legacy_machine(instance).gpu_name,
            ip=None,
            estimated_ready=estimated_ready,
        ).model_dump(mode="json")

    principal = authorize(router, "instances.create")
    created = _once(principal.team_id, "legacy_create_instance", body, create)
    return json_response(LegacyCreated.model_validate(created), 201)


@router.get(
    "/api/instances/<instance_id>",
    summary="Get an instance (unversioned)",
    responses={**ok_response(InstanceDetail, "The instance"), **error_responses(401, 403, 404)},
    tags=["Unversioned"],
)
def legacy_get_instance(instance_id: InstanceId) -> Response[str]:
    return json_response(_detail(instance_service().get(authorize(router, "instances.view"), instance_id)))


@router.delete(
    "/api/instances/<instance_id>",
    summary="Terminate an instance (unversioned)",
    responses={**ok_response(LegacyDeleted, "Termination started"), **error_responses(401, 403, 404, 409)},
    tags=["Unversioned"],
)
def legacy_delete_instance(instance_id: InstanceId) -> Response[str]:
    instance = instance_service().delete(authorize(router, "instances.delete"), instance_id)
    final_cost = instance.cost_accumulated_at(utc_now())
    return json_response(LegacyDeleted(message=f"Instance {instance_id} terminating", final_cost=final_cost))
