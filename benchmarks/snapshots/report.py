"""The report of the snapshot benchmark: ours, restic and `tar | lz4` side by side, their ratios, and
whether every target holds."""

from __future__ import annotations

import os
import statistics

from benchmarks.report import heading, legend, table
from benchmarks.snapshots.measurement import (
    FULL_OVER_RESTIC,
    FULL_OVER_TAR,
    GIB,
    MEMORY_LIMIT,
    MIB,
    TARGETS,
    SnapshotResult,
    Times,
)


def _seconds(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):.2f} ({min(seconds):.2f}-{max(seconds):.2f})"


def _megabytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB"


def _verdict(ok: bool, target: str) -> str:
    return f"ok ({target})" if ok else f"FAIL ({target})"


def _time_row(name: str, times: Times, over_restic: float | None, over_tar: float) -> list[str]:
    restic_verdict = "" if over_restic is None else f"≥ {over_restic:.0f}x restic, "
    ok = times.over_tar() >= over_tar and (over_restic is None or times.over_restic() >= over_restic)
    return [
        name,
        _seconds(times.ours),
        _seconds(times.restic),
        _seconds(times.tar),
        f"{times.over_restic():.2f}x",
        f"{times.over_tar():.2f}x",
        _verdict(ok, f"{restic_verdict}≥ {over_tar:.1f}x tar"),
    ]


def render(result: SnapshotResult) -> tuple[str, bool]:
    """The report, and whether every target holds."""
    tar_full = statistics.median(result.full.tar)
    rows = [
        _time_row("full snapshot, s", result.full, FULL_OVER_RESTIC, FULL_OVER_TAR),
        _time_row("restore, s", result.restore, None, FULL_OVER_TAR),
        [
            "stored",
            _megabytes(result.stored_bytes),
            _megabytes(result.restic_bytes),
            _megabytes(result.archive_bytes),
            f"{result.stored_bytes / result.restic_bytes:.2f}",
            f"{result.stored_bytes / result.archive_bytes:.2f}",
            "",
        ],
    ]
    for resnapshot in result.resnapshots:
        rows.append(
            [
                f"re-snapshot, {resnapshot.change}",
                f"{_megabytes(resnapshot.ours_bytes)} in {resnapshot.ours_seconds:.2f} s",
                f"{_megabytes(resnapshot.restic_bytes)} in {resnapshot.restic_seconds:.2f} s",
                f"{_megabytes(result.archive_bytes)} in {tar_full:.2f} s",
                f"{resnapshot.ours_bytes / resnapshot.restic_bytes:.2f}",
                f"{resnapshot.ours_bytes / result.archive_bytes:.3f}",
                _verdict(resnapshot.within_target, "bytes ≤ restic's"),
            ]
        )
    headers = ["", "ours", "restic", "tar | lz4", "ours/restic", "ours/tar", "verdict"]
    explanations = [
        ("full snapshot", "workspace to stored chunks + manifest / restic backup / tar -c | lz4 -1"),
        (
            "restore",
            "back into a new directory: ours (its staged frames read through files opened once, as lz4 -d "
            "reads its archive), restic restore, lz4 -d | tar -x",
        ),
        ("s", f"median (fastest-slowest) of {len(result.full.ours)} runs, taking turns"),
        ("ours/restic", "seconds: their time over ours (throughput ratio); bytes: ours over theirs"),
        ("stored", "ours: chunks and manifest; restic: its repository; tar: the archive"),
        (
            "re-snapshot",
            "what a snapshot after the change adds (ours: new chunks + the manifest's document and its new "
            "pieces), one run",
        ),
        ("", "tar | lz4 has no re-snapshot: it writes everything again"),
        (
            "peak memory",
            "most resident memory of a process that only packs the workspace (VmHWM): a first snapshot, "
            "and the next one as the agent takes it, the previous manifest read back",
        ),
    ]
    memory_ok = result.peak_memory.highest <= MEMORY_LIMIT
    rows.append(
        [
            "peak memory packing",
            f"{result.peak_memory.first / MIB:,.0f} MiB, then {result.peak_memory.again / MIB:,.0f} MiB",
            "",
            "",
            "",
            "",
            _verdict(memory_ok, f"≤ {MEMORY_LIMIT // MIB} MiB"),
        ]
    )
    details = [
        "  Re-snapshot of ours, chunks + manifest: "
        + "; ".join(
            f"{resnapshot.change}: {_megabytes(resnapshot.ours_chunk_bytes)} + "
            f"{_megabytes(resnapshot.ours_manifest_bytes)}"
            for resnapshot in result.resnapshots
        )
        + "."
    ]
    summary = (
        f"  All within the targets ({TARGETS})."
        if result.within_targets
        else f"  FAILED: a target is missed ({TARGETS})."
    )
    text = "\n".join(
        [
            heading(
                f"3. Workspace snapshots ({result.workspace_bytes / GIB:.2f} GiB in "
                f"{result.file_count:,} files, {os.cpu_count()} CPUs; ours in {result.compression})"
            ),
            table(headers, rows, right=(1, 2, 3, 4, 5)),
            "",
            *details,
            "",
            summary,
            "",
            legend(explanations),
        ]
    )
    return text, result.within_targets
