"""What the failover bench does to the system (`failover_world`): interruptions of every kind injected
into instances of every strategy, and a long run of healthy machines under lost heartbeats and provider
5xx. Each returns plain figures; `benchmarks.failover` prints them against the targets."""

from __future__ import annotations

import random
import sys
import traceback
from collections.abc import Callable, Generator
from typing import Any

from benchmarks.failover_timeline import Pending
from benchmarks.failover_world import PRINCIPAL, RUNS_PATHS, FailoverWorld
from dumont_core.instances.models import FailoverStrategy, InstanceStatus
from local_stack.marketplace.machines import Interruption

KINDS = [kind.value for kind in Interruption]
OUTBID = Interruption.OUTBID.value
STRATEGIES = [strategy.value for strategy in FailoverStrategy]
"""Every strategy an instance can ask for: each is measured by whatever path it takes."""
KEPT_BYTES = 256 * 1024
WORK_AFTER_CHECKPOINT_SECONDS = (5.0, 120.0)
"""How long the instance works on after its last checkpoint before it dies: what a failover loses."""
DETECTION_LIMIT_SECONDS = 900.0
STANDBY_LIMIT_SECONDS = 900.0
RECOVERY_LIMIT_SECONDS = 1800.0
Steps = Generator["float | Pending", Any, Any]


def _wait_for(world: FailoverWorld, ready: Any, limit: float, every: float = 1.0) -> Steps:
    """Wait until `ready()`; whether it came within `limit` s."""
    deadline = world.time.elapsed + limit
    while not ready():
        if world.time.elapsed >= deadline:
            return False
        yield every
    return True


def _incident(world: FailoverWorld, instance_id: str, kind: str, number: int, rng: random.Random) -> Steps:
    """Write a file, checkpoint, work on, die the way `kind` says, and come back: what each took."""
    record: dict[str, Any] = {"kind": kind}
    came = yield from _wait_for(
        world, lambda: world.running_with_agent(instance_id), RECOVERY_LIMIT_SECONDS, every=5.0
    )
    if not came:
        return {**record, "outcome": "never ran"}
    agent = world.agent_of(world.instance(instance_id))
    assert agent is not None
    kept, late = f"kept-{number}.bin", f"late-{number}.bin"
    content = rng.randbytes(KEPT_BYTES)
    (agent.workspace / kept).write_bytes(content)
    snapshot = world.snapshots.checkpoint(world.instance(instance_id), "lz4")
    checkpointed = yield world.workflows.snapshots_finished.setdefault(snapshot.snapshot_id, Pending())
    if not checkpointed:
        return {**record, "outcome": "checkpoint never completed"}
    if world.instance(instance_id).failover_strategy in RUNS_PATHS:
        # Its standby is rented once it has a checkpoint, by the next housekeeping run: the death waits
        # for it, so that the strategy's own path is what is measured.
        ready = yield from _wait_for(
            world, lambda: world.standby_ready(instance_id), STANDBY_LIMIT_SECONDS, every=5.0
        )
        if not ready:
            return {**record, "outcome": "standby never ready"}
    yield rng.uniform(*WORK_AFTER_CHECKPOINT_SECONDS)
    (agent.workspace / late).write_bytes(rng.randbytes(4096))
    yield rng.uniform(0.0, world.timings.pass_seconds)  # die at any point of the watch's cycle
    instance = world.instance(instance_id)
    record["reported_window"] = world.failover.status(PRINCIPAL, instance_id).data_at_risk_seconds
    completed_at = world.snapshots.get(PRINCIPAL, snapshot.snapshot_id).completed_at
    death = world.time.elapsed
    record["lost_window"] = (world.time() - completed_at).total_seconds() if completed_at else None
    looks, wakes = (
        len(world.interrupted_at.get(instance_id, [])),
        len(world.workflows.wakes.get(instance_id, [])),
    )
    assert instance.provider_instance_id is not None
    world.marketplace.interrupt(int(instance.provider_instance_id), kind)
    world.machines_changed()  # the agent stops, or loses its network, at the death, not at the next look
    noticed = yield from _wait_for(
        world, lambda: len(world.interrupted_at.get(instance_id, [])) > looks, DETECTION_LIMIT_SECONDS
    )
    if not noticed:
        return {**record, "outcome": "never noticed"}
    record["detection"] = world.interrupted_at[instance_id][-1] - death
    back = yield from _wait_for(
        world, lambda: len(world.workflows.wakes.get(instance_id, [])) > wakes, RECOVERY_LIMIT_SECONDS
    )
    if not back:
        return {**record, "outcome": "never came back"}
    wake = world.workflows.wakes[instance_id][-1]
    record.update(
        warm=bool(wake.get("warm")),
        recovery=wake["finished"] - death,
        boot=wake["running"] - wake["rented"],
        restore=wake.get("restore_seconds", 0.0),
        after_detection=wake["finished"] - world.interrupted_at[instance_id][-1],
    )
    record.update(_history_fields(world, instance_id))
    # The window the failover's own record reports, once the history carries it.
    record["reported_window"] = record.get("reported_data_window_seconds", record["reported_window"])
    now_on = world.agent_of(world.instance(instance_id))
    record["running_on"] = world.failover.status(PRINCIPAL, instance_id).running_on
    record["kept_back"] = now_on is not None and _read(now_on.workspace / kept) == content
    record["late_lost"] = now_on is not None and not (now_on.workspace / late).exists()
    record["outcome"] = "recovered"
    if wake.get("on_cpu"):
        # Recovered on the CPU standby, which then hands the instance to a new GPU: when, and whether the
        # files came along.
        yield from _wait_for(world, lambda: world.running_with_agent(instance_id), RECOVERY_LIMIT_SECONDS)
        if "back_on_gpu" in wake:
            record["back_on_gpu"] = wake["back_on_gpu"] - death
        on_gpu = world.agent_of(world.instance(instance_id))
        record["kept_on_gpu"] = on_gpu is not None and _read(on_gpu.workspace / kept) == content
    return record


def _read(path: Any) -> bytes | None:
    try:
        return bytes(path.read_bytes())
    except OSError:
        return None


def _history_fields(world: FailoverWorld, instance_id: str) -> dict[str, Any]:
    """What the status route's history says of the last failover, for the fields it has."""
    history = world.failover.status(PRINCIPAL, instance_id).history
    if not history:
        return {}
    last = history[-1]
    fields = ("detected_after_seconds", "recovered_after_seconds", "data_window_seconds")
    return {
        f"reported_{name}": getattr(last, name) for name in fields if getattr(last, name, None) is not None
    }


def _kind_of(round_number: int, index: int) -> str:
    """Each round, each instance of a strategy dies another way: every kind every round."""
    return KINDS[(round_number + index) % len(KINDS)]


def _failed(drill: Pending, strategy: str, kind: str, round_number: int) -> dict[str, Any]:
    """A drill that raised or never finished, said at once on stderr too: a long run is not lost to it."""
    outcome = f"failed: {drill.error!r}" if drill.done else "never finished"
    print(f"failover drills: round {round_number + 1}, {strategy}, {kind}: {outcome}", file=sys.stderr)
    if drill.error is not None:
        traceback.print_exception(drill.error, limit=-4, file=sys.stderr)
    return {"kind": kind, "round": round_number + 1, "outcome": outcome}


def _all_done(drills: list[Pending]) -> Callable[[], bool]:
    return lambda: all(drill.done for drill in drills)


def interruptions(*, rounds: int, seed: int, strategies: list[str] | None = None) -> dict[str, Any]:
    """`rounds` rounds; in each, every strategy's instances die one of each kind, at once."""
    rng = random.Random(seed)
    strategies = strategies or STRATEGIES
    results: dict[str, list[dict[str, Any]]] = {strategy: [] for strategy in strategies}
    with FailoverWorld(seed=seed) as world:
        fleet = [
            (strategy, world.create_instance(failover_enabled=True, failover_strategy=strategy).instance_id)
            for strategy in strategies
            for _ in KINDS
        ]
        fresh = dict.fromkeys(strategies, 0)
        for round_number in range(rounds):
            for index, (strategy, instance_id) in enumerate(fleet):
                if _kind_of(round_number, index) == OUTBID and not world.can_be_outbid(instance_id):
                    # Taken over by its warm standby, it runs on demand: a new spot instance is outbid.
                    world.instances.delete(PRINCIPAL, instance_id)
                    replacement = world.create_instance(failover_enabled=True, failover_strategy=strategy)
                    fleet[index] = (strategy, replacement.instance_id)
                    fresh[strategy] += 1
            drills = [
                (strategy, kind, world.timeline.spawn(_incident(world, instance_id, kind, round_number, rng)))
                for index, (strategy, instance_id) in enumerate(fleet)
                for kind in [_kind_of(round_number, index)]
            ]
            world.timeline.run_until(_all_done([drill for *_, drill in drills]), 2 * RECOVERY_LIMIT_SECONDS)
            for strategy, kind, drill in drills:
                results[strategy].append(drill.value or _failed(drill, strategy, kind, round_number))
            print(f"failover drills: round {round_number + 1} of {rounds} done", file=sys.stderr, flush=True)
        world.timeline.run_for(3 * world.timings.pass_seconds)
        orphans = len(world.machines_rented() - world.machines_held())
        for _, instance_id in fleet:
            world.instances.delete(PRINCIPAL, instance_id)
        world.timeline.run_for(12 * world.timings.pass_seconds)
        return {
            "incidents": results,
            "fresh_for_outbid": fresh,
            "orphans_after_interruptions": orphans,
            "rented_after_deleting": len(world.machines_rented()),
            "not_run": world.workflows.not_run,
            "errors": world.timeline.errors[:10],
            "simulated_seconds": world.time.elapsed,
            "timings": vars(world.timings),
        }


def healthy_fleet(
    *, machines: int, hours: float, drop_rate: float, error_rate: float, seed: int, skip_rate: float = 0.0
) -> dict[str, Any]:
    """Healthy machines with failover on, for `hours` of lost heartbeats and provider 5xx: how many were
    taken for dead. `drop_rate` loses heartbeat requests on the network (the agent sends them again);
    `skip_rate` has the agents not send that fraction of their heartbeats at all, as a stalled one."""
    with FailoverWorld(seed=seed) as world:
        ids = [
            world.create_instance(
                failover_enabled=True, failover_strategy=STRATEGIES[number % len(STRATEGIES)]
            ).instance_id
            for number in range(machines)
        ]
        world.timeline.run_until(lambda: all(world.running_with_agent(i) for i in ids), 900.0)
        running = sum(world.instance(i).status == InstanceStatus.RUNNING for i in ids)
        world.heartbeat_drops.set(drop_rate, seed)
        world.heartbeats_skipped.set(skip_rate, seed)
        world.marketplace.set_provider_error_rate(error_rate, seed)
        started = world.time.elapsed
        world.timeline.run_for(hours * 3600)
        return {
            "machines": running,
            "hours": (world.time.elapsed - started) / 3600,
            "false_failovers": sum(len(world.interrupted_at.get(i, [])) for i in ids),
            "heartbeats_lost": world.heartbeats_lost,
            "failed_passes": world.failed_passes,
            "drop_rate": drop_rate,
            "skip_rate": skip_rate,
            "error_rate": error_rate,
            "errors": world.timeline.errors[:10],
        }
