"""The local stack's memory under heartbeats: twenty machines reporting for an hour of simulated time.

Each soak runs in a fresh process (`benchmarks.soak_child`), so the two do not share a heap: moto with
the local stack's fixes (`local_stack.moto_memory`) for the whole hour, and moto as released, the
baseline, for as many heartbeats as it can take in a few seconds and a few hundred MB (it grows with
every heartbeat, faster as the table grows). Memory is the process's resident set after a
collection, from the end of a warm-up round.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

from benchmarks.report import heading, legend, table
from benchmarks.soak_child import HEARTBEAT_SECONDS, MACHINES, RESULT_PREFIX
from infra.topology import REPO_ROOT

SIMULATED_SECONDS = 3600
FIXED_HEARTBEATS = MACHINES * SIMULATED_SECONDS // HEARTBEAT_SECONDS
SHIPPED_HEARTBEATS = 240
CHILD_TIMEOUT_SECONDS = 900
TARGET_GROWTH_MB = 200.0
"""The fixed stack's memory may grow at most this much over the hour, after warm-up."""
TARGET_MB_PER_THOUSAND = 10.0
"""...and at most this much per 1,000 heartbeats in its last stretch (a sample is about 2.5 KB)."""
MB = 1024 * 1024


@dataclass(frozen=True)
class Soak:
    mode: str
    heartbeats: int
    start: int
    checkpoints: list[tuple[int, int, float]]
    """(heartbeats so far, resident bytes, seconds so far)"""

    @property
    def growth_mb(self) -> float:
        return (self.checkpoints[-1][1] - self.start) / MB

    @property
    def seconds(self) -> float:
        return self.checkpoints[-1][2]

    def _last_stretch(self) -> tuple[int, int, float]:
        """Heartbeats, bytes and seconds between the last two checkpoints: what a heartbeat costs by now."""
        (count_a, rss_a, at_a), (count_b, rss_b, at_b) = self.checkpoints[-2], self.checkpoints[-1]
        return count_b - count_a, rss_b - rss_a, at_b - at_a

    @property
    def mb_per_thousand(self) -> float:
        count, grown, _ = self._last_stretch()
        return grown / MB * 1000 / count

    @property
    def ms_per_heartbeat(self) -> float:
        count, _, seconds = self._last_stretch()
        return seconds * 1000 / count


@dataclass(frozen=True)
class SoakResult:
    fixed: Soak
    shipped: Soak

    @property
    def within_targets(self) -> bool:
        return (
            self.fixed.growth_mb <= TARGET_GROWTH_MB and self.fixed.mb_per_thousand <= TARGET_MB_PER_THOUSAND
        )


def _run(mode: str, heartbeats: int) -> Soak:
    finished = subprocess.run(
        [sys.executable, "-m", "benchmarks.soak_child", mode, str(heartbeats)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=True,
    )
    line = next(line for line in finished.stdout.splitlines() if line.startswith(RESULT_PREFIX))
    result = json.loads(line[len(RESULT_PREFIX) :])
    return Soak(
        mode=mode,
        heartbeats=result["heartbeats"],
        start=result["start"],
        checkpoints=[tuple(checkpoint) for checkpoint in result["checkpoints"]],
    )


def measure() -> SoakResult:
    return SoakResult(fixed=_run("fixed", FIXED_HEARTBEATS), shipped=_run("shipped", SHIPPED_HEARTBEATS))


def render(result: SoakResult) -> tuple[str, bool]:
    labels = {"fixed": "moto with the local stack's fixes", "shipped": "moto as released (baseline)"}
    rows = []
    for soak in (result.fixed, result.shipped):
        simulated = soak.heartbeats // MACHINES * HEARTBEAT_SECONDS
        rows.append(
            [
                labels[soak.mode],
                f"{soak.heartbeats:,}",
                f"{simulated / 60:g} min",
                f"{soak.seconds:,.0f}",
                f"{soak.growth_mb:,.1f}",
                f"{soak.mb_per_thousand:,.1f}",
                f"{soak.ms_per_heartbeat:,.1f}",
            ]
        )
    rows.append(
        [
            "ratio baseline / fixed",
            "",
            "",
            "",
            "",
            f"{result.shipped.mb_per_thousand / max(result.fixed.mb_per_thousand, 0.01):,.0f}x",
            f"{result.shipped.ms_per_heartbeat / result.fixed.ms_per_heartbeat:,.1f}x",
        ]
    )
    headers = ["DynamoDB", "heartbeats", "simulated", "wall s", "growth MB", "MB/1,000 hb", "ms/hb"]
    explanations = [
        (
            "heartbeats",
            f"{MACHINES} running machines, each reporting every {HEARTBEAT_SECONDS} s of a simulated clock",
        ),
        ("growth MB", "resident memory at the end minus after the warm-up round (after a collection)"),
        ("MB/1,000 hb", "memory kept per 1,000 heartbeats over the last stretch of the run"),
        ("ms/hb", "wall time per heartbeat over the last stretch of the run"),
    ]
    verdict = (
        f"Target: over the hour the fixed stack grows at most {TARGET_GROWTH_MB:.0f} MB "
        f"({result.fixed.growth_mb:,.1f}) and keeps at most {TARGET_MB_PER_THOUSAND:.0f} MB per 1,000 "
        f"heartbeats ({result.fixed.mb_per_thousand:,.1f}): "
        + ("met." if result.within_targets else "MISSED.")
    )
    text = "\n".join(
        [
            heading("Local stack soak: memory under heartbeats"),
            table(headers, rows, right=(1, 3, 4, 5, 6)),
            "",
            legend(explanations),
            "",
            verdict,
        ]
    )
    return text, result.within_targets
