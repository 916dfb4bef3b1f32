"""The targets of the snapshot benchmark, and one measurement of them: pack and restore against
`tar | lz4` over a few rounds, the restored tree checked, then an incremental pack after some files
changed."""

from __future__ import annotations

import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.snapshots.runs import ScratchRuns, alternate, read_everything, tree_digest
from benchmarks.snapshots.workspace import MIB, change_files, generate_workspace
from dumont_agent.snapshot import pack

GIB = 1024 * MIB
ROUNDS = 3
SPEED_TARGET = 0.8
"""Ours / baseline throughput, pack and restore alike."""
INCREMENTAL_LIMIT = 0.05
"""Bytes a second pack writes after 1% of the files changed, as a share of the first pack's."""
CHANGED_FILES_SHARE = 0.01
TARGETS = (
    f"pack and restore ≥ {SPEED_TARGET:.1f}x the throughput of tar | lz4; after "
    f"{CHANGED_FILES_SHARE:.0%} of the files changed, a second pack writes ≤ {INCREMENTAL_LIMIT:.0%} "
    "of what the first stored"
)


@dataclass(frozen=True)
class SnapshotResult:
    workspace_bytes: int
    file_count: int
    pack_seconds: list[float]
    tar_seconds: list[float]
    restore_seconds: list[float]
    untar_seconds: list[float]
    stored_bytes: int
    archive_bytes: int
    changed_files: int
    incremental_bytes: int
    incremental_chunks: int
    incremental_seconds: float

    def throughput(self, seconds: list[float]) -> float:
        return self.workspace_bytes / statistics.median(seconds) / 1e6

    @property
    def pack_ratio(self) -> float:
        return statistics.median(self.tar_seconds) / statistics.median(self.pack_seconds)

    @property
    def restore_ratio(self) -> float:
        return statistics.median(self.untar_seconds) / statistics.median(self.restore_seconds)

    @property
    def incremental_share(self) -> float:
        return self.incremental_bytes / self.stored_bytes

    @property
    def within_targets(self) -> bool:
        return (
            self.pack_ratio >= SPEED_TARGET
            and self.restore_ratio >= SPEED_TARGET
            and self.incremental_share <= INCREMENTAL_LIMIT
        )


def _require_free_space(needed: int) -> None:
    scratch_parent = Path(tempfile.gettempdir())
    free = shutil.disk_usage(scratch_parent).free
    if free < needed:
        raise RuntimeError(
            f"the snapshot benchmark needs {needed / GIB:.1f} GiB free in {scratch_parent}, "
            f"{free / GIB:.1f} GiB are: give a smaller --snapshot-gib or another TMPDIR"
        )


def measure(gib: float = 1.0, rounds: int = ROUNDS) -> SnapshotResult:
    workspace_bytes = int(gib * GIB)
    # The workspace, two pack outputs, and every restored tree: they are deleted only at the end.
    _require_free_space(workspace_bytes * (3 + 2 * rounds))
    with tempfile.TemporaryDirectory(prefix="dumont-bench-snapshots-") as scratch:
        workspace = generate_workspace(Path(scratch) / "workspace", workspace_bytes)
        read_everything(workspace.root)
        runs = ScratchRuns(Path(scratch), workspace, rounds)
        pack_seconds, tar_seconds = alternate(
            rounds, runs.pack_ours, runs.pack_baseline, runs.drop_previous_round
        )
        restore_seconds, untar_seconds = alternate(rounds, runs.restore_ours, runs.restore_baseline)
        if tree_digest(runs.restored(0)) != tree_digest(workspace.root):
            raise RuntimeError("the restored workspace differs from the original: the figures are void")

        first = runs.packed[-1]
        changed = change_files(workspace, CHANGED_FILES_SHARE)
        second = pack(
            workspace.root,
            Path(scratch) / "staging-incremental",
            known=first.manifest.digests,
            known_sizes=first.manifest.stored_sizes,
        )
        return SnapshotResult(
            workspace_bytes=first.manifest.total_bytes,
            file_count=first.manifest.file_count,
            pack_seconds=pack_seconds,
            tar_seconds=tar_seconds,
            restore_seconds=restore_seconds,
            untar_seconds=untar_seconds,
            stored_bytes=first.stored_bytes,
            archive_bytes=runs.archive(runs.last).stat().st_size,
            changed_files=changed,
            incremental_bytes=second.written_bytes,
            incremental_chunks=len(second.written),
            incremental_seconds=second.seconds,
        )
