"""The steps of the `cpu_failover` workflow that are its own (the others it shares with waking and
snapshots), by the names its ASL calls them with."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from dumont_core import composition

if TYPE_CHECKING:
    from workflows.steps import StepInput

CpuFailoverStep = Literal[
    "cpu_start_standby",
    "cpu_activate_standby",
    "cpu_check_gpu_boot",
    "cpu_begin_standby_snapshot",
    "cpu_record_standby_snapshot",
    "cpu_switch_back",
    "cpu_fail_failover",
]


def _machine(request: StepInput) -> str:
    if request.machine is None:
        raise ValueError(f"{request.step} needs the rented machine")
    return request.machine.provider_instance_id


def _snapshot_id(request: StepInput) -> str:
    if request.snapshot is None:
        raise ValueError(f"{request.step} needs the snapshot")
    return request.snapshot.snapshot_id


def _fail(request: StepInput) -> dict[str, Any]:
    snapshot_id = request.params.get("snapshot_id")
    return composition.cpu_failover_steps().fail(
        request.instance, request.failure, str(snapshot_id) if snapshot_id else None
    )


CPU_FAILOVER_STEPS: dict[str, Callable[[StepInput], dict[str, Any]]] = {
    "cpu_start_standby": lambda r: composition.cpu_failover_steps().start_standby(r.instance),
    "cpu_activate_standby": lambda r: composition.cpu_failover_steps().activate_standby(r.instance),
    "cpu_check_gpu_boot": lambda r: composition.cpu_failover_steps().check_gpu_boot(r.instance, _machine(r)),
    "cpu_begin_standby_snapshot": lambda r: composition.cpu_failover_steps().begin_standby_snapshot(
        r.instance
    ),
    "cpu_record_standby_snapshot": lambda r: composition.cpu_failover_steps().record_standby_snapshot(
        r.instance, _snapshot_id(r)
    ),
    "cpu_switch_back": lambda r: composition.cpu_failover_steps().switch_back(r.instance),
    "cpu_fail_failover": _fail,
}
