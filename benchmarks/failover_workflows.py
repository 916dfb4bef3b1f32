"""The workflows of the failover bench, run on its simulated clock: each workflow the services start runs
its steps in the order its state machine (`infra/statemachines/`) runs them, waiting as it waits (the
boot polls), retrying the provider's errors as its Retry says, and handing actions to the agent at its
next heartbeat as the action queue does. A workflow this bench does not know is counted, not run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from benchmarks.failover_timeline import Pending
from dumont_core.instances.step_support import InstanceRef
from dumont_core.platform.workflows import Workflow
from dumont_core.providers.models import ProviderThrottled, ProviderUnavailable
from infra.topology import REPO_ROOT

if TYPE_CHECKING:
    from benchmarks.failover_world import FailoverWorld

Steps = Generator["float | Pending", Any, Any]
_MACHINES = REPO_ROOT / "infra" / "statemachines"
_FILES = {
    Workflow.PROVISION: "provision_instance",
    Workflow.WAKE: "wake_instance",
    Workflow.SNAPSHOT: "snapshot_instance",
}


@dataclass
class AgentAction:
    kind: str
    params: dict[str, Any]
    done: Pending = field(default_factory=Pending)
    seconds: float = 0.0
    """How long the agent took, measured."""


@cache
def _provider_retry(workflow: Workflow, step: str) -> tuple[float, int, float]:
    """(IntervalSeconds, MaxAttempts, BackoffRate) of the state running `step`, for the provider's
    errors, as the state machine's file says."""
    states = json.loads((_MACHINES / f"{_FILES[workflow]}.asl.json").read_text())["States"]
    for state in states.values():
        if state.get("Parameters", {}).get("Payload", {}).get("step") != step:
            continue
        for retry in state.get("Retry", []):
            if "ProviderUnavailable" in retry["ErrorEquals"]:
                return retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"]
    return 0.0, 0, 1.0


def _failure(error: BaseException) -> dict[str, Any]:
    """What a Catch hands the next state."""
    return {"Error": type(error).__name__, "Cause": json.dumps({"errorMessage": str(error)})}


class WorkflowRunner:
    """Stands where Step Functions does: `start` runs the workflow on the world's timeline."""

    def __init__(self, world: FailoverWorld) -> None:
        self._world = world
        self._actions: dict[str, list[AgentAction]] = {}
        self.not_run: dict[str, int] = {}
        """Workflows started that this bench does not run, by name."""
        self.wakes: dict[str, list[dict[str, float]]] = {}
        """Instance id -> each wake: when it rented, when its machine ran, restore seconds, finished."""
        self.snapshots_finished: dict[str, Pending] = {}
        """Snapshot id -> resolved with True once completed (False if it failed)."""

    def start(self, workflow: Workflow, execution_name: str, payload: dict[str, Any]) -> None:
        ref = InstanceRef.model_validate(payload["instance"])
        runs: dict[Workflow, Callable[[], Steps]] = {
            Workflow.PROVISION: lambda: self._provision(ref, waking=False),
            Workflow.WAKE: lambda: self._provision(ref, waking=True),
            Workflow.SNAPSHOT: lambda: self._snapshot(ref, payload["snapshot"]),
            Workflow.DESTROY: lambda: self._destroy(ref),
        }
        run = runs.get(workflow)
        if run is None:
            self.not_run[workflow.value] = self.not_run.get(workflow.value, 0) + 1
            return
        self._world.timeline.spawn(run())

    def take_actions(self, instance_id: str) -> list[AgentAction]:
        """What is queued for the instance's agent, handed over with a heartbeat's answer."""
        return self._actions.pop(instance_id, [])

    def _queue(self, instance_id: str, kind: str, params: dict[str, Any]) -> AgentAction:
        action = AgentAction(kind, params)
        self._actions.setdefault(instance_id, []).append(action)
        return action

    def _call(self, workflow: Workflow, step: str, call: Callable[[], Any]) -> Steps:
        """Run a step, retrying the provider's errors as the state machine does."""
        interval, attempts, backoff = _provider_retry(workflow, step)
        for attempt in range(attempts + 1):
            try:
                return call()
            except (ProviderUnavailable, ProviderThrottled):
                if attempt == attempts:
                    raise
                yield interval * backoff**attempt
        raise AssertionError("unreachable")

    def _provision(self, ref: InstanceRef, *, waking: bool) -> Steps:
        steps, world = self._world.steps, self._world
        workflow = Workflow.WAKE if waking else Workflow.PROVISION
        record: dict[str, float] = {"started": world.time.elapsed}
        try:
            offers = yield from self._call(
                workflow, "choose_offers", lambda: steps.choose_offers(ref, waking=waking)
            )
            candidates = offers["candidates"]
            rented = yield from self._call(
                workflow, "rent_machine", lambda: steps.rent_machine(ref, candidates, waking=waking)
            )
            machine_id = rented["provider_instance_id"]
            record["rented"] = world.time.elapsed
            while True:
                yield world.timings.boot_poll_seconds
                boot = yield from self._call(
                    workflow, "check_boot", lambda: steps.check_boot(ref, machine_id, waking=waking)
                )
                if boot["state"] == "running":
                    break
            record["running"] = world.time.elapsed
            if waking:
                yield from self._restore(ref, record)
        except Exception as error:
            if waking:
                steps.fail_wake(ref, _failure(error))
            else:
                steps.fail_provisioning(ref, _failure(error))
            return
        if waking:
            record["finished"] = world.time.elapsed
            self.wakes.setdefault(ref.instance_id, []).append(record)

    def _restore(self, ref: InstanceRef, record: dict[str, float]) -> Steps:
        world = self._world
        snapshot_id = world.instances.find(ref.team_id, ref.instance_id)
        assert snapshot_id is not None and snapshot_id.last_snapshot_id is not None
        action = self._queue(ref.instance_id, "restore", {"snapshot_id": snapshot_id.last_snapshot_id})
        record["queued"] = world.time.elapsed
        yield action.done
        if action.done.error is not None:
            raise action.done.error
        record["restore_seconds"] = action.seconds
        world.steps.finish_wake(ref)

    def _snapshot(self, ref: InstanceRef, snapshot: dict[str, Any]) -> Steps:
        world = self._world
        snapshot_id = snapshot["snapshot_id"]
        params = {"snapshot_id": snapshot_id, "compression": snapshot.get("compression", "lz4")}
        action = self._queue(ref.instance_id, "snapshot", params)
        finished = self.snapshots_finished.setdefault(snapshot_id, Pending())
        yield action.done
        if action.done.error is not None:
            world.snapshots.fail_snapshot(ref.team_id, snapshot_id, str(action.done.error))
            finished.resolve(False)
            return
        world.snapshot_steps.finish_snapshot(ref.team_id, snapshot_id, action.done.value or {})
        finished.resolve(True)

    def _destroy(self, ref: InstanceRef) -> Steps:
        yield 0.0
        self._world.steps.destroy_machine(ref)
