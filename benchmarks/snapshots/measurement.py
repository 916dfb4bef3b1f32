"""The targets of the snapshot benchmark, and one measurement of them: full snapshots and restores of
ours, restic and `tar | lz4` over a few rounds, the restored tree checked, then a re-snapshot after
each of three kinds of change."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.snapshots.memory import PackingPeaks, peak_packing_bytes
from benchmarks.snapshots.restic import Restic
from benchmarks.snapshots.runs import ScratchRuns, alternate, read_everything, tree_digest
from benchmarks.snapshots.workspace import (
    MIB,
    Workspace,
    add_small_files,
    change_files,
    generate_workspace,
    insert_in_the_middle,
)
from dumont_agent.snapshot import Compression, PiecedManifest, pack, split_manifest

GIB = 1024 * MIB
ROUNDS = 5
"""Runs of each, taking turns: `tar | lz4`'s own time varies by half from one run to the next (the
writeback of the archives before it), and a median of three let the ratio swing by 15%."""
FULL_OVER_RESTIC = 2.0
"""Our full snapshot's throughput over restic's, at least."""
FULL_OVER_TAR = 1.0
"""Our full snapshot's and restore's throughput over `tar | lz4`'s and `lz4 -d | tar -x`'s, at least."""
MEMORY_LIMIT = 256 * MIB
"""The agent's peak resident memory while packing, at most."""
CHANGED_FILES_SHARE = 0.01
INSERTED_BYTES = MIB
NEW_FILES = 10_000
TARGETS = (
    f"full snapshot ≥ {FULL_OVER_RESTIC:.0f}x restic's throughput and ≥ {FULL_OVER_TAR:.1f}x tar | lz4's; "
    f"restore ≥ {FULL_OVER_TAR:.1f}x lz4 -d | tar -x; every re-snapshot writes no more than restic's; "
    f"packing peaks at ≤ {MEMORY_LIMIT // MIB} MiB"
)


@dataclass(frozen=True)
class Times:
    ours: list[float]
    restic: list[float]
    tar: list[float]

    def over_restic(self) -> float:
        """Our throughput over restic's: restic's median seconds over ours."""
        return statistics.median(self.restic) / statistics.median(self.ours)

    def over_tar(self) -> float:
        return statistics.median(self.tar) / statistics.median(self.ours)


@dataclass(frozen=True)
class ReSnapshot:
    change: str
    ours_chunk_bytes: int
    ours_manifest_bytes: int
    ours_seconds: float
    restic_bytes: int
    restic_seconds: float

    @property
    def ours_bytes(self) -> int:
        return self.ours_chunk_bytes + self.ours_manifest_bytes

    @property
    def within_target(self) -> bool:
        return self.ours_bytes <= self.restic_bytes


@dataclass(frozen=True)
class SnapshotResult:
    workspace_bytes: int
    file_count: int
    compression: Compression
    full: Times
    restore: Times
    stored_bytes: int
    """Ours: every chunk and the manifest."""
    restic_bytes: int
    archive_bytes: int
    resnapshots: list[ReSnapshot]
    peak_memory: PackingPeaks

    @property
    def within_targets(self) -> bool:
        return (
            self.peak_memory.highest <= MEMORY_LIMIT
            and self.full.over_restic() >= FULL_OVER_RESTIC
            and self.full.over_tar() >= FULL_OVER_TAR
            and self.restore.over_tar() >= FULL_OVER_TAR
            and all(resnapshot.within_target for resnapshot in self.resnapshots)
        )


def _stored_bytes(pieced: PiecedManifest) -> int:
    return len(pieced.document) + sum(piece.ref.stored_size for piece in pieced.pieces)


def _require_free_space(needed: int) -> None:
    scratch_parent = Path(tempfile.gettempdir())
    free = shutil.disk_usage(scratch_parent).free
    if free < needed:
        raise RuntimeError(
            f"the snapshot benchmark needs {needed / GIB:.1f} GiB free in {scratch_parent}, "
            f"{free / GIB:.1f} GiB are: give a smaller --snapshot-gib or another TMPDIR"
        )


def _changes(workspace: Workspace) -> list[tuple[str, Callable[[], object]]]:
    return [
        (f"{CHANGED_FILES_SHARE:.0%} of files edited", lambda: change_files(workspace, CHANGED_FILES_SHARE)),
        (
            f"{INSERTED_BYTES // MIB} MiB inserted mid-file",
            lambda: insert_in_the_middle(workspace, INSERTED_BYTES),
        ),
        (f"{NEW_FILES:,} new small files", lambda: add_small_files(workspace, NEW_FILES)),
    ]


def measure_memory(gib: float, compression: Compression = "lz4") -> PackingPeaks:
    """The peak memory of packing a generated workspace of `gib` alone: no restic, no restores, so it
    needs only the workspace's space and its snapshot's."""
    workspace_bytes = int(gib * GIB)
    _require_free_space(workspace_bytes * 2)
    with tempfile.TemporaryDirectory(prefix="dumont-bench-snapshot-memory-") as scratch_name:
        scratch = Path(scratch_name)
        workspace = generate_workspace(scratch / "workspace", workspace_bytes)
        return peak_packing_bytes(workspace.root, scratch / "staging-memory", compression)


def measure(gib: float = 1.0, rounds: int = ROUNDS, compression: Compression = "lz4") -> SnapshotResult:
    workspace_bytes = int(gib * GIB)
    # The workspace, three snapshots of it, and every restored tree: deleted only at the end.
    _require_free_space(workspace_bytes * (4 + 3 * rounds))
    with tempfile.TemporaryDirectory(prefix="dumont-bench-snapshots-") as scratch_name:
        scratch = Path(scratch_name)
        workspace = generate_workspace(scratch / "workspace", workspace_bytes)
        read_everything(workspace.root)
        runs = ScratchRuns(scratch, workspace, rounds, compression)
        restic = Restic(scratch, workspace.root, rounds)

        def drop_previous_round(round_number: int) -> None:
            runs.drop_previous_round(round_number)
            restic.drop(round_number - 1)

        full = Times(
            *alternate(rounds, [runs.pack_ours, restic.backup, runs.pack_baseline], drop_previous_round)
        )
        restore = Times(*alternate(rounds, [runs.restore_ours, restic.restore, runs.restore_baseline]))
        if tree_digest(runs.restored(0)) != tree_digest(workspace.root):
            raise RuntimeError("the restored workspace differs from the original: the figures are void")
        first = runs.packed[-1]
        peak_memory = peak_packing_bytes(workspace.root, scratch / "staging-memory", compression)
        result = SnapshotResult(
            workspace_bytes=first.manifest.total_bytes,
            file_count=first.manifest.file_count,
            compression=compression,
            full=full,
            restore=restore,
            stored_bytes=first.stored_bytes + _stored_bytes(runs.pieced[-1]),
            restic_bytes=restic.stored_bytes(),
            archive_bytes=runs.archive(runs.last).stat().st_size,
            resnapshots=[],
            peak_memory=peak_memory,
        )
        for number, (change, make_change) in enumerate(_changes(workspace)):
            make_change()
            read_everything(workspace.root)
            result.resnapshots.append(_resnapshot(change, scratch / f"staging-change-{number}", runs, restic))
        return result


def _resnapshot(change: str, staging: Path, runs: ScratchRuns, restic: Restic) -> ReSnapshot:
    """Ours with the previous snapshot's chunks known, as the agent packs; restic into its repository."""
    previous = runs.packed[-1].manifest
    stored_pieces = {piece.ref.digest for piece in runs.pieced[-1].pieces}
    os.sync()
    started = time.perf_counter()
    packed = pack(
        runs.workspace.root,
        staging,
        known=previous.digests,
        known_sizes=previous.stored_sizes,
        compression=runs.compression,
    )
    pieced = split_manifest(packed.manifest)
    ours_seconds = time.perf_counter() - started
    # What S3 lacks of the manifest: its document and the pieces the previous snapshot did not store.
    manifest_bytes = len(pieced.document) + sum(
        piece.ref.stored_size for piece in pieced.pieces if piece.ref.digest not in stored_pieces
    )
    runs.packed.append(packed)
    runs.pieced.append(pieced)
    restic_before = restic.stored_bytes()
    os.sync()
    started = time.perf_counter()
    restic.backup(restic.last)
    restic_seconds = time.perf_counter() - started
    return ReSnapshot(
        change=change,
        ours_chunk_bytes=packed.written_bytes,
        ours_manifest_bytes=manifest_bytes,
        ours_seconds=ours_seconds,
        restic_bytes=restic.stored_bytes() - restic_before,
        restic_seconds=restic_seconds,
    )
