"""Packing: a workspace into a manifest and the frames of its chunks, staged for the caller to upload
(in segment files, one a worker: `PackResult.frame` reads a staged frame back).

The walking thread reads the small files and cuts them into chunks; `workers` threads hash, compress and
stage those chunks meanwhile, and each large file whole: read, cut, hashed, compressed and staged by the
worker that takes it. Reading, cutting, hashing and compressing overlap across the cores.

Memory is bounded whatever the workspace's size, apart from what is kept per file and per chunk: the
manifest, in columns (`tables`: a file's path and about 50 bytes, 48 bytes a chunk), and the bookkeeping
of packing, in arrays (about 120 bytes a chunk: the store's digests, sizes and index, where each frame
is, where each chunk is in its stream). A 10 GiB workspace of 199,000 files and 250,000 chunks peaks at
about 190 MiB, 210 MiB with the previous snapshot's chunks known (`make bench`). Beside those:
- the walking thread: what the small files' cutter holds (under 8 maximum-sized chunks of 16 KiB, and a
  file of under 1 MiB) and one cut's chunks (under 2 MiB);
- each worker: a large file's cutter (a read of `READ_BYTES`, 4 MiB, and under 4 maximum-sized chunks,
  8 MiB), `CHUNKS_IN_FLIGHT_PER_WORKER` (2) batches of small files' chunks of under `BATCH_BYTES`
  (4 MiB), and the frame being written (at most 2 MiB): about 22 MiB;
- so about 5 MiB + 22 MiB a worker, at most `MAX_WORKERS` (8) workers: about 180 MiB.
"""

from __future__ import annotations

import os
import threading
import time
from array import array
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dumont_agent.snapshot.chunks import ChunkListener, ChunkStore, StagedFrames
from dumont_agent.snapshot.compression import Compression
from dumont_agent.snapshot.errors import failing_as_snapshot_error
from dumont_agent.snapshot.manifest import ChunkRef, ChunkTable, Manifest, new_manifest
from dumont_agent.snapshot.pipeline import CHUNKS_IN_FLIGHT_PER_WORKER, Pipeline, quick_handovers
from dumont_agent.snapshot.tables import ChunkSelection
from dumont_agent.snapshot.walk import LargeFile, Planner, SmallChunk, large_file_cutter

BATCH_BYTES = 4 * 1024 * 1024
BATCH_CHUNKS = 64
MAX_WORKERS = 8
"""Each worker costs memory (see above): eight keep packing under 256 MiB beside its tables."""

_PACK_UNDONE = "the chunks this pack staged were removed again"


@dataclass(frozen=True)
class PackResult:
    manifest: Manifest
    staged: StagedFrames
    """Where the frame of each chunk in `written` is in the staging directory."""
    seconds: float
    skipped: tuple[str, ...] = ()
    """Sockets, FIFOs and device nodes: not data, so not in the snapshot."""

    @property
    def written(self) -> Sequence[ChunkRef]:
        """Chunks whose frames this pack wrote to staging (not in `known`), in manifest order."""
        return ChunkSelection(self.staged.chunks, self.staged.written)

    def frame(self, digest: str) -> bytes:
        """The staged frame of a chunk in `written`; KeyError for any other."""
        return self.staged[digest].read()

    @property
    def stored_bytes(self) -> int:
        """Bytes of every chunk of the snapshot as stored, written now or before."""
        return self.staged.chunks.total_stored_bytes

    @property
    def written_bytes(self) -> int:
        chunks = self.staged.chunks
        return sum(chunks.stored_size(number) for number in self.staged.written)

    @property
    def compression_ratio(self) -> float:
        stored = self.stored_bytes
        return self.manifest.total_bytes / stored if stored else 1.0


def pack(
    workspace: Path,
    staging: Path,
    *,
    known: Collection[str] = (),
    known_sizes: Mapping[str, int] | None = None,
    workers: int | None = None,
    compression: Compression = "lz4",
    listener: ChunkListener | None = None,
) -> PackResult:
    """Snapshot `workspace`: write the frame of every chunk not in `known` to segment files in `staging`,
    compressed with `compression` (`PackResult.frame` reads them).

    Chunks in `known` (digests already stored) are only hashed; their stored size comes from
    `known_sizes` (`Manifest.stored_sizes` of the previous snapshot), and only the chunks missing from it
    are compressed again, to learn their size. `staging` may be inside the workspace: it is not packed.
    The workspace must not change meanwhile; a file that does raises WorkspaceChanged.

    `listener(ref, staged)` is told of each distinct chunk as soon as its frame is staged (or, for a
    chunk in `known`, hashed), from the worker threads, so the caller can upload while packing goes on.

    On any failure the frames this call wrote are removed again; a full disk raises NotEnoughSpace.
    """
    started = time.perf_counter()
    workers = min(workers if workers is not None else os.cpu_count() or 1, MAX_WORKERS)
    workspace, staging = Path(workspace), Path(staging)
    store = ChunkStore(staging, known, known_sizes or {}, compression, listener)
    cutters = threading.local()

    def cut_large_file(file: LargeFile) -> None:
        cutter = getattr(cutters, "cutter", None)
        if cutter is None:
            cutter = cutters.cutter = large_file_cutter()
        file.cut(cutter, store.put)

    with failing_as_snapshot_error(
        f"packing {workspace} into {staging}", _PACK_UNDONE, undo=store.remove_created
    ):
        staging.mkdir(parents=True, exist_ok=True)
        staging_status = staging.stat()
        planner = Planner(workspace, (staging_status.st_dev, staging_status.st_ino))
        small_files = planner.small_files

        def store_small_chunks(batch: list[SmallChunk]) -> None:
            slots = store.put_all([data for _, data in batch])
            for (number, _), slot in zip(batch, slots, strict=True):
                small_files.slots[number] = slot

        try:
            with (
                quick_handovers(),
                Pipeline(workers, CHUNKS_IN_FLIGHT_PER_WORKER, "snapshot-chunk") as pipeline,
            ):
                for work in _batches(planner.work()):
                    if isinstance(work, LargeFile):
                        pipeline.submit(cut_large_file, work)
                    else:
                        pipeline.submit(store_small_chunks, work)
                pipeline.finish()
        finally:
            store.close()

    manifest, staged = _manifest(planner, store, compression)
    seconds = time.perf_counter() - started
    return PackResult(manifest=manifest, staged=staged, seconds=seconds, skipped=tuple(planner.skipped))


def _batches(work: Iterator[SmallChunk | LargeFile]) -> Iterator[list[SmallChunk] | LargeFile]:
    """Each large file on its own, and the small files' chunks together, up to `BATCH_BYTES` or
    `BATCH_CHUNKS`: one task per chunk costs the walking thread and the workers more in handing over
    (locks, waking threads) than the hashing of a small chunk."""
    batch: list[SmallChunk] = []
    size = 0
    for item in work:
        if isinstance(item, LargeFile):
            yield item
            continue
        batch.append(item)
        size += len(item[1])
        if size >= BATCH_BYTES or len(batch) >= BATCH_CHUNKS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _manifest(planner: Planner, store: ChunkStore, compression: Compression) -> tuple[Manifest, StagedFrames]:
    """The entries with their spans in chunks numbered in the order the files first use them (the same
    workspace, the same numbers), and where each staged frame is. The store is done with once they are
    made."""
    chunk_of_slot = array("i", [-1]) * store.slot_count
    chunks = ChunkTable()

    def number_of(slot: int) -> int:
        chunk = chunk_of_slot[slot]
        if chunk < 0:
            chunk = chunk_of_slot[slot] = store.add_to(chunks, slot)
        return chunk

    entries = planner.entries_with_spans(number_of)
    return new_manifest(entries, chunks, compression), store.staged_frames(chunks, chunk_of_slot)
