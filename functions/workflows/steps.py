"""What a step of the instance workflows is given, and which service carries it out.

The ASL passes `{"step": ..., "instance": {"team_id", "instance_id"}, ...}`; a step's exception
reaches Step Functions with its class name as the error, which the ASL retries or catches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from dumont_core import composition
from dumont_core.instances.models import PowerAction
from dumont_core.instances.step_support import InstanceRef, failure_reason
from workflows.cpu_failover import CPU_FAILOVER_STEPS, CpuFailoverStep

if TYPE_CHECKING:
    from dumont_core.failover.warmpool_steps import WarmPoolSteps
    from dumont_core.instances.steps import InstanceWorkflowSteps


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

WarmPoolStep = Literal[
    "choose_standby_offers",
    "rent_standby",
    "check_standby_boot",
    "stop_standby",
    "check_standby_stopped",
    "fail_standby",
    "start_standby",
    "check_takeover_boot",
    "switch_to_standby",
    "fall_back",
]
"""The steps of the warm pool's workflows: keeping a standby ready, and failing over onto it."""


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
        CpuFailoverStep,
        WarmPoolStep,
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
    to_standby: bool = False
    """The action is for the agent of the instance's standby machine."""


def _machine(request: StepInput) -> str:
    if request.machine is None:
        raise ValueError(f"{request.step} needs the rented machine")
    return request.machine.provider_instance_id


def _action(request: StepInput) -> PowerAction:
    if request.action is None:
        raise ValueError(f"{request.step} needs an action")
    return request.action


def _snapshot(request: StepInput) -> SnapshotInput:
    if request.snapshot is None:
        raise ValueError(f"{request.step} needs the snapshot")
    return request.snapshot


def _queue_agent_action(request: StepInput) -> dict[str, Any]:
    if request.action_type is None:
        raise ValueError("queue_agent_action needs the action type")
    _snapshot(request)
    ref = request.instance
    action_id = composition.agents().queue_action(
        ref.team_id,
        ref.instance_id,
        request.action_type,
        request.params,
        request.task_token,
        to_standby=request.to_standby,
    )
    return {"action_id": action_id}


def _fail_snapshot(request: StepInput) -> dict[str, Any]:
    reason = failure_reason(request.failure)
    composition.snapshots().fail_snapshot(request.instance.team_id, _snapshot(request).snapshot_id, reason)
    return {}


def _steps() -> InstanceWorkflowSteps:
    return composition.instance_steps()


def _warm() -> WarmPoolSteps:
    return composition.warmpool_steps()


STEPS: dict[str, Callable[[StepInput], dict[str, Any]]] = {
    "choose_offers": lambda r: _steps().choose_offers(r.instance, waking=r.waking),
    "rent_machine": lambda r: _steps().rent_machine(r.instance, r.candidates, waking=r.waking),
    "check_boot": lambda r: _steps().check_boot(r.instance, _machine(r), waking=r.waking),
    "fail_provisioning": lambda r: _steps().fail_provisioning(r.instance, r.failure),
    "request_power_action": lambda r: _steps().request_power_action(r.instance, _action(r)),
    "check_power_action": lambda r: _steps().check_power_action(r.instance, _action(r)),
    "fail_power_action": lambda r: _steps().fail_power_action(r.instance, _action(r), r.failure),
    "destroy_machine": lambda r: _steps().destroy_machine(r.instance),
    "fail_destroy": lambda r: _steps().fail_destroy(r.instance, r.failure),
    "finish_wake": lambda r: _steps().finish_wake(r.instance),
    "fail_wake": lambda r: _steps().fail_wake(r.instance, r.failure),
    "queue_agent_action": _queue_agent_action,
    "finish_snapshot": lambda r: composition.snapshot_steps().finish_snapshot(
        r.instance.team_id, _snapshot(r).snapshot_id, r.result or {}
    ),
    "fail_snapshot": _fail_snapshot,
    "complete_hibernation": lambda r: _steps().complete_hibernation(
        r.instance, _snapshot(r).snapshot_id, _snapshot(r).reason or "hibernation requested"
    ),
    "abort_hibernation": lambda r: _steps().abort_hibernation(
        r.instance, _snapshot(r).snapshot_id, r.failure
    ),
    "record_restore_failure": lambda r: _steps().record_restore_failure(
        r.instance, _snapshot(r).snapshot_id, r.failure
    ),
    **CPU_FAILOVER_STEPS,
    "choose_standby_offers": lambda r: _warm().choose_standby_offers(r.instance),
    "rent_standby": lambda r: _warm().rent_standby(r.instance, r.candidates),
    "check_standby_boot": lambda r: _warm().check_standby_boot(r.instance, _machine(r)),
    "stop_standby": lambda r: _warm().stop_standby(r.instance, _machine(r), _snapshot(r).snapshot_id),
    "check_standby_stopped": lambda r: _warm().check_standby_stopped(r.instance, _machine(r)),
    "fail_standby": lambda r: _warm().fail_standby(r.instance, r.failure),
    "start_standby": lambda r: _warm().start_standby(r.instance, _machine(r)),
    "check_takeover_boot": lambda r: _warm().check_takeover_boot(r.instance, _machine(r)),
    "switch_to_standby": lambda r: _warm().switch_to_standby(r.instance, _machine(r)),
    "fall_back": lambda r: _warm().fall_back(r.instance, _machine(r), r.failure),
}
"""Every step, by the name the state machines call it with, and what it runs."""


def run_step(request: StepInput) -> dict[str, Any]:
    return STEPS[request.step](request)
