"""The `cpu_failover` workflow on the failover bench's clock, in the order its state machine
(`infra/statemachines/cpu_failover.asl.json`) runs its states: the CPU standby started and polled until
it runs, caught up with the last checkpoint by its agent when it lacks it, the instance moved onto it;
then a GPU rented and polled, the standby's workspace snapshotted by its agent and restored by the GPU's,
and the instance switched back. Any failure takes the state machine's Catch: the steps' `fail`, which
hands the instance to the snapshot path.

The takeover is recorded with the wakes, as the warm pool's is: the workspace answers from the CPU
machine once the standby is active. The move back to a GPU is added to that record when it is done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmarks.failover_workflows import AgentAction, Steps, step_failure
from dumont_core.instances.step_support import InstanceRef
from dumont_core.platform.workflows import Workflow

if TYPE_CHECKING:
    from benchmarks.failover_workflows import WorkflowRunner
    from benchmarks.failover_world import FailoverWorld

WORKFLOW = Workflow.CPU_FAILOVER


def _done(action: AgentAction) -> Steps:
    """Wait for the agent to carry the action out, as the task token's wait does; its error is the
    task's failure."""
    yield action.done
    if action.done.error is not None:
        raise action.done.error
    return action.done.value or {}


def cpu_failover(runner: WorkflowRunner, ref: InstanceRef) -> Steps:
    world: FailoverWorld = runner.world
    steps = world.cpu.steps
    record: dict[str, float] = {"started": world.time.elapsed, "on_cpu": 1.0}
    snapshot_id: str | None = None
    try:
        record["rented"] = world.time.elapsed  # the standby asked to start
        standby = yield from runner.call(WORKFLOW, "cpu_start_standby", lambda: steps.start_standby(ref))
        while standby["state"] != "running":
            yield world.timings.boot_poll_seconds
            standby = yield from runner.call(WORKFLOW, "cpu_start_standby", lambda: steps.start_standby(ref))
        record["running"] = world.time.elapsed
        if standby["needs_sync"]:
            catch_up = runner.queue(
                ref.instance_id, "restore", {"snapshot_id": standby["snapshot_id"]}, to_standby=True
            )
            yield from _done(catch_up)
            record["restore_seconds"] = catch_up.seconds
        yield from runner.call(WORKFLOW, "cpu_activate_standby", lambda: steps.activate_standby(ref))
        record["finished"] = world.time.elapsed
        runner.wakes.setdefault(ref.instance_id, []).append(record)

        gpu_steps = world.steps
        offers = yield from runner.call(
            WORKFLOW, "choose_offers", lambda: gpu_steps.choose_offers(ref, waking=True)
        )
        rented = yield from runner.call(
            WORKFLOW, "rent_machine", lambda: gpu_steps.rent_machine(ref, offers["candidates"], waking=True)
        )
        machine_id = rented["provider_instance_id"]
        yield from runner.poll(
            WORKFLOW, "cpu_check_gpu_boot", lambda: steps.check_gpu_boot(ref, machine_id), "running"
        )
        snapshot = yield from runner.call(
            WORKFLOW, "cpu_begin_standby_snapshot", lambda: steps.begin_standby_snapshot(ref)
        )
        snapshot_id = str(snapshot["snapshot_id"])
        taken = yield from _done(runner.queue(ref.instance_id, "snapshot", snapshot, to_standby=True))
        world.snapshot_steps.finish_snapshot(ref.team_id, snapshot_id, taken)
        yield from runner.call(
            WORKFLOW, "cpu_record_standby_snapshot", lambda: steps.record_standby_snapshot(ref, snapshot_id)
        )
        yield from _done(runner.queue(ref.instance_id, "restore", {"snapshot_id": snapshot_id}))
        yield from runner.call(WORKFLOW, "cpu_switch_back", lambda: steps.switch_back(ref))
        record["back_on_gpu"] = world.time.elapsed
    except Exception as error:
        # Every state's Catch: give back the GPU, stop the standby, and take the snapshot path.
        steps.fail(ref, step_failure(error), snapshot_id)
