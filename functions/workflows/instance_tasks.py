"""Lambda entry point for every step of the instance state machines.

The ASL passes `{"step": ..., "instance": {"team_id", "instance_id"}, ...}`; a step's exception
reaches Step Functions with its class name as the error, which the ASL retries or catches.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, get_args

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from dumont_core.agents.factory import agent_service
from dumont_core.data.instances import InstanceRepository
from dumont_core.events import EventBridgePublisher
from dumont_core.models import PowerAction
from dumont_core.providers.factory import provider_from_settings
from dumont_core.services.instance_workflow import InstanceRef, InstanceWorkflowSteps, failure_reason
from dumont_core.services.serverless_factory import serverless_repository
from dumont_core.services.snapshot_factory import snapshot_service
from dumont_core.settings import get_settings

logger = Logger()
tracer = Tracer()


class InstanceRefInput(BaseModel):
    team_id: str
    instance_id: str


class MachineInput(BaseModel):
    provider_instance_id: str


class SnapshotInput(BaseModel):
    snapshot_id: str
    purpose: str = "manual"
    reason: str | None = None


SnapshotStep = Literal[
    "queue_agent_action",
    "finish_snapshot",
    "fail_snapshot",
    "complete_hibernation",
    "abort_hibernation",
    "record_restore_failure",
]
"""The steps of the snapshot workflows; each carries the snapshot it is about."""
SNAPSHOT_STEPS = frozenset(get_args(SnapshotStep))


class StepInput(BaseModel):
    # A Literal inside a Literal flattens: `step` is any one of these names or of SnapshotStep.
    step: Literal[
        "choose_offers",
        "rent_machine",
        "check_boot",
        "fail_provisioning",
        "request_power_action",
        "check_power_action",
        "fail_power_action",
        "destroy_machine",
        "fail_destroy",
        "finish_wake",
        "fail_wake",
        SnapshotStep,
    ]
    instance: InstanceRefInput
    candidates: list[dict[str, Any]] = []
    machine: MachineInput | None = None
    action: PowerAction | None = None
    failure: dict[str, Any] | None = None
    waking: bool = False
    """Provisioning steps run for a hibernated instance waking up."""
    snapshot: SnapshotInput | None = None
    action_type: Literal["snapshot", "restore"] | None = None
    params: dict[str, Any] = {}
    task_token: str | None = None
    result: dict[str, Any] | None = None


@cache
def workflow_steps() -> InstanceWorkflowSteps:
    settings = get_settings()
    return InstanceWorkflowSteps(
        InstanceRepository.from_settings(settings),
        EventBridgePublisher.from_settings(settings),
        provider_from_settings(settings),
        settings,
        hibernations=serverless_repository(settings),
    )


def run_step(request: StepInput) -> dict[str, Any]:
    steps = workflow_steps()
    ref = InstanceRef(team_id=request.instance.team_id, instance_id=request.instance.instance_id)
    if request.step in SNAPSHOT_STEPS:
        return run_snapshot_step(request, ref)
    match request.step:
        case "choose_offers":
            return steps.choose_offers(ref, waking=request.waking)
        case "rent_machine":
            return steps.rent_machine(ref, request.candidates, waking=request.waking)
        case "check_boot":
            if request.machine is None:
                raise ValueError("check_boot needs the rented machine")
            return steps.check_boot(ref, request.machine.provider_instance_id, waking=request.waking)
        case "finish_wake":
            return steps.finish_wake(ref)
        case "fail_wake":
            return steps.fail_wake(ref, request.failure)
        case "fail_provisioning":
            return steps.fail_provisioning(ref, request.failure)
        case "destroy_machine":
            return steps.destroy_machine(ref)
        case "fail_destroy":
            return steps.fail_destroy(ref, request.failure)
    if request.action is None:
        raise ValueError(f"{request.step} needs an action")
    match request.step:
        case "request_power_action":
            return steps.request_power_action(ref, request.action)
        case "check_power_action":
            return steps.check_power_action(ref, request.action)
        case _:
            return steps.fail_power_action(ref, request.action, request.failure)


def run_snapshot_step(request: StepInput, ref: InstanceRef) -> dict[str, Any]:
    snapshot = request.snapshot
    if snapshot is None:
        raise ValueError(f"{request.step} needs the snapshot")
    match request.step:
        case "queue_agent_action":
            if request.action_type is None:
                raise ValueError("queue_agent_action needs the action type")
            action_id = agent_service().queue_action(
                ref.team_id, ref.instance_id, request.action_type, request.params, request.task_token
            )
            return {"action_id": action_id}
        case "finish_snapshot":
            return snapshot_service().finish_snapshot(ref.team_id, snapshot.snapshot_id, request.result or {})
        case "fail_snapshot":
            snapshot_service().fail_snapshot(
                ref.team_id, snapshot.snapshot_id, failure_reason(request.failure)
            )
            return {}
        case "complete_hibernation":
            reason = snapshot.reason or "hibernation requested"
            return workflow_steps().complete_hibernation(ref, snapshot.snapshot_id, reason)
        case "abort_hibernation":
            return workflow_steps().abort_hibernation(ref, snapshot.snapshot_id, request.failure)
        case _:
            return workflow_steps().record_restore_failure(ref, snapshot.snapshot_id, request.failure)


@logger.inject_lambda_context(correlation_id_path="instance.instance_id")
@tracer.capture_lambda_handler
@event_parser(model=StepInput)
def lambda_handler(event: StepInput, context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(step=event.step, team_id=event.instance.team_id)
    return run_step(event)
