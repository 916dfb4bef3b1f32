"""Failover: machines killed every way the marketplace kills them, for every strategy, and healthy ones
left alone under lost heartbeats and provider 5xx, on a simulated clock with AWS's timings.

The drills run in a fresh process (`benchmarks.failover_child`, over `failover_drills` and
`failover_world`): the real services, watch, workflow steps, Vast.ai adapter, local marketplace and agent
code, with time moved by the bench instead of waited for. What each figure measures is in the legend.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.failover_child import FAULT_RATE, RESULT_PREFIX
from benchmarks.report import heading, legend, table
from infra.topology import REPO_ROOT

ROUNDS = 10
"""Each round interrupts every strategy's instances once each, one of every kind."""
HEALTHY_MACHINES = 10
HEALTHY_HOURS = 1.5
CHILD_TIMEOUT_SECONDS = 3 * 3600
"""Ten rounds take about twenty minutes of wall time on 2 cores, the healthy run about as long; several
times that on a machine shared with other work."""
DETECTION_TARGET_SECONDS = 30.0
RECOVERY_TARGET_SECONDS = 60.0
"""For the strategies that keep a machine ready (warmpool, cpu_standby), from the death."""
FAST_STRATEGIES = ("warmpool", "cpu_standby")
ANCHORS = "dstack notices an interruption in about 2 minutes; SkyPilot polls every 15 s."
ANCHOR_ROWS = [
    ["anchor: dstack notices in", "", "~120", "~120", "", "", "", "", "", ""],
    ["anchor: SkyPilot polls every", "", "15", "15", "", "", "", "", "", ""],
]
"""Beside the detection figures: what others take to notice a lost spot machine."""
_WINDOW_SLACK_SECONDS = 0.5
SAVED_RESULT = REPO_ROOT / "build" / "bench" / "failover.json"
"""Where each run's raw figures are kept, before they are rendered."""


def measure(
    rounds: int = ROUNDS, machines: int = HEALTHY_MACHINES, hours: float = HEALTHY_HOURS
) -> dict[str, Any]:
    """The interruptions and the healthy run, in two processes at once (each uses one core)."""
    child = [sys.executable, "-m", "benchmarks.failover_child"]
    runs = [
        subprocess.Popen([*child, "drills", str(rounds)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True),
        subprocess.Popen(
            [*child, "healthy", str(machines), str(hours)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
        ),
    ]
    drills, healthy = (_result(run) for run in runs)
    result = {**drills, "healthy": healthy}
    SAVED_RESULT.parent.mkdir(parents=True, exist_ok=True)
    SAVED_RESULT.write_text(json.dumps(result, indent=1))
    return result


def saved(path: Path = SAVED_RESULT) -> dict[str, Any]:
    """The figures of the last run, rendered again without running it (it takes an hour or more)."""
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def _result(run: subprocess.Popen[str]) -> dict[str, Any]:
    try:
        output, _ = run.communicate(timeout=CHILD_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        run.kill()
        run.communicate()
        raise
    if run.returncode != 0:
        raise subprocess.CalledProcessError(run.returncode, run.args, output)
    line = next(line for line in output.splitlines() if line.startswith(RESULT_PREFIX))
    result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
    return result


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest rank: the smallest value at least `fraction` of the values are at or under."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _figures(incidents: list[dict[str, Any]]) -> list[str]:
    recovered = [incident for incident in incidents if incident.get("outcome") == "recovered"]

    def of(name: str) -> list[float]:
        return [float(incident[name]) for incident in recovered if incident.get(name) is not None]

    overhead = [
        incident["after_detection"] - incident["boot"] - incident["restore"] for incident in recovered
    ]
    kept = sum(bool(incident.get("kept_back")) for incident in recovered)
    return [
        f"{len(recovered)}/{len(incidents)}",
        _seconds(percentile(of("detection"), 0.5)),
        _seconds(percentile(of("detection"), 0.95)),
        _seconds(percentile(of("recovery"), 0.5)),
        _seconds(percentile(of("recovery"), 0.95)),
        _seconds(percentile(overhead, 0.95)),
        _seconds(percentile(of("lost_window"), 0.95)),
        _seconds(percentile(of("reported_window"), 0.95)),
        f"{kept}/{len(recovered)}",
    ]


def _verdicts(result: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each target, said with the figure it is judged on, and whether it was met."""
    timings = result["timings"]
    verdicts = []
    for strategy, incidents in result["incidents"].items():
        recovered = [incident for incident in incidents if incident.get("outcome") == "recovered"]
        detection = percentile([incident["detection"] for incident in recovered], 0.95)
        verdicts.append(
            (
                f"{strategy}: every interruption recovered ({len(recovered)}/{len(incidents)})",
                len(recovered) == len(incidents),
            )
        )
        verdicts.append(
            (
                f"{strategy}: detection p95 <= {DETECTION_TARGET_SECONDS:.0f} s ({_seconds(detection)})",
                detection is not None and detection <= DETECTION_TARGET_SECONDS,
            )
        )
        if strategy in FAST_STRATEGIES:
            recovery = percentile([incident["recovery"] for incident in recovered], 0.95)
            verdicts.append(
                (
                    f"{strategy}: recovery p95 <= {RECOVERY_TARGET_SECONDS:.0f} s ({_seconds(recovery)})",
                    recovery is not None and recovery <= RECOVERY_TARGET_SECONDS,
                )
            )
        else:
            overhead = percentile([i["after_detection"] - i["boot"] - i["restore"] for i in recovered], 0.95)
            verdicts.append(
                (
                    f"{strategy}: back within a boot plus a restore, give or take a boot poll "
                    f"({timings['boot_poll_seconds']} s): p95 beyond them {_seconds(overhead)} s",
                    overhead is not None and overhead <= timings["boot_poll_seconds"],
                )
            )
        honest = all(
            incident.get("kept_back")
            and incident["lost_window"] <= incident["reported_window"] + _WINDOW_SLACK_SECONDS
            for incident in recovered
        )
        verdicts.append(
            (f"{strategy}: files of the last checkpoint back, loss within the reported window", honest)
        )
    left = result["orphans_after_interruptions"] + result["rented_after_deleting"]
    verdicts.append((f"machines left rented: {left} (must be 0)", left == 0))
    healthy = result["healthy"]
    verdicts.append(
        (
            f"false failovers of healthy machines: {healthy['false_failovers']} (must be 0)",
            healthy["false_failovers"] == 0,
        )
    )
    return verdicts


def _clock_note(result: dict[str, Any]) -> str:
    timings = result["timings"]
    low, high = timings["boot_seconds"]
    return (
        "All times are seconds of a simulated clock with AWS's timings: a reconciler pass every "
        f"{timings['pass_seconds']:g} s, confirmation after {timings['confirm_seconds']:g} s "
        f"({timings.get('silence_confirm_seconds', timings['confirm_seconds']):g} s more for silence), "
        "a heartbeat "
        f"every {timings['heartbeat_seconds']:g} s (every {timings['listened_heartbeat_seconds']:g} s with "
        "failover on or while a workflow waits on the agent), boots polled every "
        f"{timings['boot_poll_seconds']:g} s, "
        f"GPU machines booting in {low:g}-{high:g} s ({result['simulated_seconds'] / 3600:.1f} h "
        f"simulated in {result['wall_seconds']:.0f} s of wall time)."
    )


def _healthy_note(result: dict[str, Any]) -> str:
    healthy = result["healthy"]
    return (
        f"Healthy machines: {healthy['machines']} with failover on for {healthy['hours']:g} simulated "
        f"hours, {FAULT_RATE:.0%} of heartbeat requests lost and {FAULT_RATE:.0%} of provider calls "
        f"answered 5xx: {healthy['false_failovers']} taken for dead, {healthy['heartbeats_lost']} "
        f"heartbeats lost after the agent's retries, {healthy['failed_passes']} passes the provider could "
        f"not answer ({healthy['wall_seconds']:.0f} s of wall time)."
    )


def _stalled_note(result: dict[str, Any]) -> str:
    stalled = result["healthy"].get("stalled")
    if stalled is None:
        return ""
    return (
        f"Not a target, for the record: when agents skip {stalled['skip_rate']:.0%} of their heartbeats "
        f"outright (a stalled agent, not the network), {stalled['false_failovers']} of "
        f"{stalled['machines']} healthy machines were failed over in {stalled['hours']:g} simulated hours "
        f"({stalled['heartbeats_lost']} heartbeats skipped): two silent intervals in a row look like a "
        "partition to the watch."
    )


def _back_on_gpu_notes(result: dict[str, Any]) -> list[str]:
    """For the strategies that recover on a CPU machine first: when the instance was back on a GPU."""
    notes = []
    for strategy, incidents in result["incidents"].items():
        moved = [incident for incident in incidents if "kept_on_gpu" in incident]
        if not moved:
            continue
        back = [
            float(incident["back_on_gpu"]) for incident in moved if incident.get("back_on_gpu") is not None
        ]
        kept = sum(bool(incident["kept_on_gpu"]) for incident in moved)
        notes.append(
            f"{strategy}: then back on a new GPU {_seconds(percentile(back, 0.5))} s (p50), "
            f"{_seconds(percentile(back, 0.95))} s (p95) after the death, {len(back)}/{len(moved)} through "
            f"the standby's snapshot; files of the last checkpoint on that GPU in {kept}/{len(moved)}."
        )
    return notes


def _fresh_note(result: dict[str, Any]) -> str:
    fresh = {strategy: count for strategy, count in result.get("fresh_for_outbid", {}).items() if count}
    if not fresh:
        return ""
    said = ", ".join(f"{strategy} {count}" for strategy, count in fresh.items())
    return (
        "An instance a warm standby took over runs on demand, which no bid can outbid: those outbid drills "
        f"were run on a new interruptible instance of the strategy ({said})."
    )


def render(result: dict[str, Any]) -> tuple[str, bool]:
    healthy = result["healthy"]
    headers = [
        "strategy / kind",
        "back",
        "detect p50",
        "p95",
        "recover p50",
        "p95",
        "beyond boot+restore p95",
        "lost p95",
        "reported p95",
        "files back",
    ]
    rows = []
    for strategy, incidents in result["incidents"].items():
        rows.append([strategy, *_figures(incidents)])
        for kind in sorted({incident.get("kind", "?") for incident in incidents}):
            rows.append([f"  {kind}", *_figures([i for i in incidents if i.get("kind", "?") == kind])])
    rows.extend(ANCHOR_ROWS)
    explanations = [
        ("detect", "from the machine's death (injected at the marketplace) to its instance `interrupted`"),
        (
            "recover",
            "from the death until the workspace answers from the new machine (restore done, wake finished)",
        ),
        ("beyond boot+restore", "recovery after detection minus the new machine's boot and the restore"),
        ("lost", "work since the last completed checkpoint, lost with the machine (its file is gone)"),
        (
            "reported",
            "the failover's `data_window_seconds` in the status route's history, where it has one; else "
            "what the route said was at risk (`data_at_risk_seconds`) just before the death",
        ),
        ("files back", "files written before the last checkpoint read back byte for byte on the new machine"),
    ]
    verdicts = _verdicts(result)
    not_run = result.get("not_run") or {}
    lines = [
        heading("Failover: interruptions, recovery, and healthy machines left alone"),
        _clock_note(result),
        "",
        table(headers, rows, right=tuple(range(1, 10))),
        "",
        legend(explanations),
        "",
        f"Anchors: {ANCHORS}",
        _healthy_note(result),
        _stalled_note(result),
        _fresh_note(result),
        *_back_on_gpu_notes(result),
    ]
    if not_run:
        lines.append(f"Workflows this bench does not run (their strategies were not measured): {not_run}")
    if result.get("errors") or healthy.get("errors"):
        lines.append(f"Errors: {[*result.get('errors', []), *healthy.get('errors', [])]}")
    lines += ["", *(f"{'met' if met else 'MISSED'}: {said}" for said, met in verdicts)]
    return "\n".join(lines), all(met for _, met in verdicts)
