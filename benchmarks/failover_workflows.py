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
from dumont_core.instances.step_support import InstanceNoLongerWanted, InstanceRef
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
    Workflow.WARMPOOL_STANDBY: "warmpool_standby",
    Workflow.WARMPOOL_FAILOVER: "warmpool_failover",
    Workflow.CPU_FAILOVER: "cpu_failover",
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


def step_failure(error: BaseException) -> dict[str, Any]:
    """What a Catch hands the next state."""
    return {"Error": type(error).__name__, "Cause": json.dumps({"errorMessage": str(error)})}


class WorkflowRunner:
    """Stands where Step Functions does: `start` runs the workflow on the world's timeline."""

    def __init__(self, world: FailoverWorld) -> None:
        self.world = world
        self._actions: dict[tuple[str, bool], list[AgentAction]] = {}
        """(Instance id, whether for its standby's agent) -> the actions queued for that agent."""
        self.not_run: dict[str, int] = {}
        """Workflows started that this bench does not run, by name."""
        self.wakes: dict[str, list[dict[str, float]]] = {}
        """Instance id -> each wake or takeover: when it rented (or started the standby), when its machine
        ran, restore seconds, finished; `warm` is 1.0 where the standby took over."""
        self.standbys_ready = 0
        """Standbys rented, synced and stopped by the warm pool's standby workflow."""
        self.snapshots_finished: dict[str, Pending] = {}
        """Snapshot id -> resolved with True once completed (False if it failed)."""
        self._registered: dict[Workflow, Callable[[InstanceRef, dict[str, Any]], Steps]] = {}

    def register(self, workflow: Workflow, run: Callable[[InstanceRef, dict[str, Any]], Steps]) -> None:
        """Run `workflow` with `run` (the runners kept in modules of their own, as the CPU standby's)."""
        self._registered[workflow] = run

    def start(self, workflow: Workflow, execution_name: str, payload: dict[str, Any]) -> None:
        ref = InstanceRef.model_validate(payload["instance"])
        runs: dict[Workflow, Callable[[], Steps]] = {
            Workflow.PROVISION: lambda: self._provision(ref, waking=False),
            Workflow.WAKE: lambda: self._provision(ref, waking=True),
            Workflow.SNAPSHOT: lambda: self._snapshot(ref, payload["snapshot"]),
            Workflow.DESTROY: lambda: self._destroy(ref),
            Workflow.WARMPOOL_STANDBY: lambda: self._warm_standby(ref, payload["snapshot"]["snapshot_id"]),
            Workflow.WARMPOOL_FAILOVER: lambda: self._warm_takeover(
                ref, payload["machine"]["provider_instance_id"]
            ),
        }
        registered = self._registered.get(workflow)
        if registered is not None:
            self.world.timeline.spawn(registered(ref, payload))
            return
        run = runs.get(workflow)
        if run is None:
            self.not_run[workflow.value] = self.not_run.get(workflow.value, 0) + 1
            return
        self.world.timeline.spawn(run())

    def take_actions(self, instance_id: str, *, standby: bool = False) -> list[AgentAction]:
        """What is queued for the instance's agent (or its standby's), handed over with a heartbeat's
        answer."""
        return self._actions.pop((instance_id, standby), [])

    def queue(
        self, instance_id: str, kind: str, params: dict[str, Any], *, to_standby: bool = False
    ) -> AgentAction:
        action = AgentAction(kind, params)
        self._actions.setdefault((instance_id, to_standby), []).append(action)
        return action

    def poll(self, workflow: Workflow, step: str, call: Callable[[], dict[str, Any]], until: str) -> Steps:
        """A Wait, then a check, until the check's `state` is `until`."""
        while True:
            yield self.world.timings.boot_poll_seconds
            answer = yield from self.call(workflow, step, call)
            if answer["state"] == until:
                return

    def _warm_standby(self, ref: InstanceRef, snapshot_id: str) -> Steps:
        """`warmpool_standby`: rent a standby, boot it, have its agent restore the checkpoint, stop it."""
        steps, workflow = self.world.warmpool_steps, Workflow.WARMPOOL_STANDBY
        try:
            offers = yield from self.call(
                workflow, "choose_standby_offers", lambda: steps.choose_standby_offers(ref)
            )
            rented = yield from self.call(
                workflow, "rent_standby", lambda: steps.rent_standby(ref, offers["candidates"])
            )
            machine_id = rented["provider_instance_id"]
            yield from self.poll(
                workflow, "check_standby_boot", lambda: steps.check_standby_boot(ref, machine_id), "running"
            )
            action = self.queue(ref.instance_id, "restore", {"snapshot_id": snapshot_id}, to_standby=True)
            yield action.done
            if action.done.error is not None:
                raise action.done.error
            yield from self.call(
                workflow, "stop_standby", lambda: steps.stop_standby(ref, machine_id, snapshot_id)
            )
            yield from self.poll(
                workflow,
                "check_standby_stopped",
                lambda: steps.check_standby_stopped(ref, machine_id),
                "ready",
            )
        except InstanceNoLongerWanted:
            return
        except Exception as error:
            steps.fail_standby(ref, step_failure(error))
            return
        self.standbys_ready += 1

    def _warm_takeover(self, ref: InstanceRef, machine_id: str) -> Steps:
        """`warmpool_failover`: start the standby, restore the latest checkpoint on it, switch over; if
        any of that fails, give it back and go on with the wake's steps in the same execution."""
        world, steps, workflow = self.world, self.world.warmpool_steps, Workflow.WARMPOOL_FAILOVER
        record: dict[str, float] = {"started": world.time.elapsed, "warm": 1.0}
        try:
            yield from self.call(workflow, "start_standby", lambda: steps.start_standby(ref, machine_id))
            record["rented"] = world.time.elapsed
            yield from self.poll(
                workflow, "check_takeover_boot", lambda: steps.check_takeover_boot(ref, machine_id), "running"
            )
            record["running"] = world.time.elapsed
            instance = world.instances.find(ref.team_id, ref.instance_id)
            assert instance is not None and instance.last_snapshot_id is not None
            action = self.queue(
                ref.instance_id, "restore", {"snapshot_id": instance.last_snapshot_id}, to_standby=True
            )
            yield action.done
            if action.done.error is not None:
                raise action.done.error
            record["restore_seconds"] = action.seconds
            yield from self.call(
                workflow, "switch_to_standby", lambda: steps.switch_to_standby(ref, machine_id)
            )
        except Exception as error:
            fallback = steps.fall_back(ref, machine_id, step_failure(error))
            if fallback["fallback"]:
                yield from self._provision(ref, waking=True)
            return
        record["finished"] = world.time.elapsed
        self.wakes.setdefault(ref.instance_id, []).append(record)

    def call(self, workflow: Workflow, step: str, call: Callable[[], Any]) -> Steps:
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
        steps, world = self.world.steps, self.world
        workflow = Workflow.WAKE if waking else Workflow.PROVISION
        record: dict[str, float] = {"started": world.time.elapsed}
        try:
            offers = yield from self.call(
                workflow, "choose_offers", lambda: steps.choose_offers(ref, waking=waking)
            )
            candidates = offers["candidates"]
            rented = yield from self.call(
                workflow, "rent_machine", lambda: steps.rent_machine(ref, candidates, waking=waking)
            )
            machine_id = rented["provider_instance_id"]
            record["rented"] = world.time.elapsed
            while True:
                yield world.timings.boot_poll_seconds
                boot = yield from self.call(
                    workflow, "check_boot", lambda: steps.check_boot(ref, machine_id, waking=waking)
                )
                if boot["state"] == "running":
                    break
            record["running"] = world.time.elapsed
            if waking:
                yield from self._restore(ref, record)
        except Exception as error:
            if waking:
                steps.fail_wake(ref, step_failure(error))
            else:
                steps.fail_provisioning(ref, step_failure(error))
            return
        if waking:
            record["finished"] = world.time.elapsed
            self.wakes.setdefault(ref.instance_id, []).append(record)

    def _restore(self, ref: InstanceRef, record: dict[str, float]) -> Steps:
        world = self.world
        snapshot_id = world.instances.find(ref.team_id, ref.instance_id)
        assert snapshot_id is not None and snapshot_id.last_snapshot_id is not None
        action = self.queue(ref.instance_id, "restore", {"snapshot_id": snapshot_id.last_snapshot_id})
        record["queued"] = world.time.elapsed
        yield action.done
        if action.done.error is not None:
            raise action.done.error
        record["restore_seconds"] = action.seconds
        world.steps.finish_wake(ref)

    def _snapshot(self, ref: InstanceRef, snapshot: dict[str, Any]) -> Steps:
        world = self.world
        snapshot_id = snapshot["snapshot_id"]
        params = {"snapshot_id": snapshot_id, "compression": snapshot.get("compression", "lz4")}
        action = self.queue(ref.instance_id, "snapshot", params)
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
        self.world.steps.destroy_machine(ref)
