"""What a step of the instance workflows is given, and which service carries it out.

The ASL passes `{"step": ..., "instance": {"team_id", "instance_id"}, ...}`; a step's exception
reaches Step Functions with its class name as the error, which the ASL retries or catches.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel

from dumont_core import composition
from dumont_core.instances.models import PowerAction
from dumont_core.instances.step_support import InstanceRef, failure_reason


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
    instance: InstanceRef
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


def run_step(request: StepInput) -> dict[str, Any]:
    if request.step in SNAPSHOT_STEPS:
        return run_snapshot_step(request)
    steps, ref = composition.instance_steps(), request.instance
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


def run_snapshot_step(request: StepInput) -> dict[str, Any]:
    snapshot, ref = request.snapshot, request.instance
    if snapshot is None:
        raise ValueError(f"{request.step} needs the snapshot")
    match request.step:
        case "queue_agent_action":
            if request.action_type is None:
                raise ValueError("queue_agent_action needs the action type")
            action_id = composition.agents().queue_action(
                ref.team_id, ref.instance_id, request.action_type, request.params, request.task_token
            )
            return {"action_id": action_id}
        case "finish_snapshot":
            return composition.snapshot_steps().finish_snapshot(
                ref.team_id, snapshot.snapshot_id, request.result or {}
            )
        case "fail_snapshot":
            composition.snapshots().fail_snapshot(
                ref.team_id, snapshot.snapshot_id, failure_reason(request.failure)
            )
            return {}
        case "complete_hibernation":
            reason = snapshot.reason or "hibernation requested"
            return composition.instance_steps().complete_hibernation(ref, snapshot.snapshot_id, reason)
        case "abort_hibernation":
            return composition.instance_steps().abort_hibernation(ref, snapshot.snapshot_id, request.failure)
        case _:
            return composition.instance_steps().record_restore_failure(
                ref, snapshot.snapshot_id, request.failure
            )
