"""The report of the snapshot benchmark: throughput of pack and restore against `tar | lz4`,
compression, the incremental pack, and whether every target holds."""

from __future__ import annotations

import os

from benchmarks.report import heading, legend, table
from benchmarks.snapshots.measurement import (
    CHANGED_FILES_SHARE,
    GIB,
    INCREMENTAL_LIMIT,
    SPEED_TARGET,
    TARGETS,
    SnapshotResult,
)


def _range(seconds: list[float]) -> str:
    return f"{min(seconds):.2f}-{max(seconds):.2f}"


def render(result: SnapshotResult) -> tuple[str, bool]:
    """The report, and whether every target holds."""

    def verdict(ok: bool, target: str) -> str:
        return f"ok ({target})" if ok else f"FAIL ({target})"

    speed_target = f"≥ {SPEED_TARGET:.1f}x"
    rows = [
        [
            "pack",
            f"{result.throughput(result.pack_seconds):,.0f}",
            _range(result.pack_seconds),
            f"{result.throughput(result.tar_seconds):,.0f}",
            _range(result.tar_seconds),
            f"{result.pack_ratio:.2f}x",
            verdict(result.pack_ratio >= SPEED_TARGET, speed_target),
        ],
        [
            "restore",
            f"{result.throughput(result.restore_seconds):,.0f}",
            _range(result.restore_seconds),
            f"{result.throughput(result.untar_seconds):,.0f}",
            _range(result.untar_seconds),
            f"{result.restore_ratio:.2f}x",
            verdict(result.restore_ratio >= SPEED_TARGET, speed_target),
        ],
    ]
    headers = ["operation", "ours MB/s", "ours s", "tar|lz4 MB/s", "tar|lz4 s", "ours/baseline", "verdict"]
    incremental_ok = result.incremental_share <= INCREMENTAL_LIMIT
    explanations = [
        ("operation", "pack: workspace to staged chunks + manifest; restore: those back to a new directory"),
        ("ours MB/s", f"workspace bytes / median seconds of {len(result.pack_seconds)} runs (1 MB = 10^6 B)"),
        ("ours s", "fastest-slowest run"),
        ("tar|lz4 MB/s", "the same for `tar -c | lz4 -1` and `lz4 -d | tar -x`, alternating with ours"),
        ("ours/baseline", "throughput of ours over the baseline's"),
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
                f"{result.file_count:,} files, {os.cpu_count()} CPUs)"
            ),
            table(headers, rows, right=(1, 2, 3, 4, 5)),
            "",
            f"  Compression: {result.workspace_bytes / result.stored_bytes:.2f}x ours "
            f"({result.stored_bytes / 1e6:,.0f} MB in chunks), "
            f"{result.workspace_bytes / result.archive_bytes:.2f}x tar | lz4 -1 "
            f"({result.archive_bytes / 1e6:,.0f} MB).",
            f"  Incremental: {result.changed_files} files changed ({CHANGED_FILES_SHARE:.0%}); "
            f"the second pack wrote {result.incremental_chunks} chunks, "
            f"{result.incremental_bytes / 1e6:,.1f} MB = "
            f"{result.incremental_share:.1%} of the first pack's; in {result.incremental_seconds:.2f} s. "
            + verdict(incremental_ok, f"≤ {INCREMENTAL_LIMIT:.0%}"),
            "",
            summary,
            "",
            legend(explanations),
        ]
    )
    return text, result.within_targets
