"""Restoring: a manifest's workspace rebuilt next to the target from verified chunks, then swapped in.

Every chunk is checked against its digest before a byte of it is written, and the target is replaced
only once the whole snapshot is there, so a failed restore leaves the workspace as it was.
"""

# Paths are plain strings and os calls here, not pathlib: per file, a Path object costs more than the
# system calls it wraps, and a workspace holds hundreds of thousands of files.
# ruff: noqa: PTH101, PTH102, PTH211

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dumont_agent.snapshot import restore_plan
from dumont_agent.snapshot.chunks import open_frame
from dumont_agent.snapshot.collecting import collection_paused
from dumont_agent.snapshot.errors import (
    MissingChunk,
    NotEnoughSpace,
    SnapshotError,
    failing_as_snapshot_error,
)
from dumont_agent.snapshot.manifest import Manifest
from dumont_agent.snapshot.pipeline import CHUNKS_IN_FLIGHT_PER_WORKER, Pipeline
from dumont_agent.snapshot.restore_plan import Piece, WholeFile

logger = logging.getLogger(__name__)

_RESTORE_UNDONE = "the workspace was left as it was"


@dataclass(frozen=True)
class RestoreResult:
    files: int
    bytes: int
    seconds: float


def restore(
    manifest: Manifest,
    fetch: Callable[[str], bytes],
    target: Path,
    *,
    workers: int | None = None,
) -> RestoreResult:
    """Make `target` hold exactly the snapshot, or leave it as it was.

    `fetch(digest)` returns a chunk's LZ4 frame; it is called from several threads at once. The snapshot
    is restored into a new directory next to `target`, every chunk checked against its digest; only when
    all of it is there does it replace `target` (renamed away, then deleted). On any failure `target` is
    untouched and the new directory removed: CorruptChunk, MissingChunk, NotEnoughSpace or SnapshotError.
    """
    started = time.perf_counter()
    manifest.check()
    target = Path(target).absolute()
    doing = f"restoring into {target}"
    with failing_as_snapshot_error(doing, _RESTORE_UNDONE):
        target.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(target.parent).free
    if free < manifest.total_bytes:
        raise NotEnoughSpace(
            f"restoring needs {manifest.total_bytes:,} bytes free next to {target}, only {free:,} are; "
            "the current workspace stays in place until the new one is complete, so both must fit"
        )
    with failing_as_snapshot_error(doing, _RESTORE_UNDONE):
        restoring = Path(tempfile.mkdtemp(prefix=f".{target.name}.restoring-", dir=target.parent))
    with failing_as_snapshot_error(doing, _RESTORE_UNDONE, undo=lambda: _remove_tree(restoring)):
        with collection_paused():
            _restore_tree(manifest, fetch, str(restoring), workers)
        _swap_into_place(restoring, target)
    return RestoreResult(
        files=manifest.file_count, bytes=manifest.total_bytes, seconds=time.perf_counter() - started
    )


def _restore_tree(manifest: Manifest, fetch: Callable[[str], bytes], root: str, workers: int | None) -> None:
    made = restore_plan.plan(manifest, root, _umask())
    # Directories stay writable by us until everything inside them is written.
    for path, _, _ in itertools.islice(made.directories, 1, None):
        os.mkdir(path, 0o700)
    for empty in made.empty_files:
        _write_file(empty.path, empty.mode, empty.mtime_ns, empty.chmod, [])
    chunks = manifest.chunk_table
    with Pipeline(workers, CHUNKS_IN_FLIGHT_PER_WORKER, "snapshot-restore") as pipeline:
        lanes = restore_plan.lanes(chunks, made, pipeline.workers)
        batches = [restore_plan.batches(chunks, lane, made) for lane in lanes]
        for batch in restore_plan.in_turns(batches):
            pipeline.submit(_restore_chunks, batch, made.held, fetch)
        pipeline.finish()
    for path, mode, mtime_ns in made.pieced:
        os.chmod(path, mode)
        os.utime(path, ns=(mtime_ns, mtime_ns))
    for path, target, mtime_ns in made.symlinks:
        os.symlink(target, path)
        os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
    # Children first: creating an entry changes its directory's mtime, a directory may be read-only.
    for path, mode, mtime_ns in reversed(made.directories):
        os.chmod(path, mode)
        os.utime(path, ns=(mtime_ns, mtime_ns))


def _restore_chunks(batch: restore_plan.Batch, held: bytearray, fetch: Callable[[str], bytes]) -> None:
    """Fetch, check and write a batch's chunks one at a time, keeping those a later file of it needs."""
    kept: dict[int, memoryview] = {}
    for number, chunk, writes in batch:
        try:
            frame = fetch(chunk.digest)
        except Exception as error:
            raise MissingChunk(chunk.digest, str(error) or type(error).__name__) from error
        kept[number] = view = memoryview(open_frame(chunk, frame))
        for write in writes:
            if isinstance(write, Piece):
                _write_piece(write, view)
            else:
                _write_whole(write, kept)
        if not held[number]:
            del kept[number]


def _write_whole(whole: WholeFile, chunks: dict[int, memoryview]) -> None:
    contents = [chunks[number][offset : offset + length] for number, offset, length in whole.parts]
    _write_file(whole.path, whole.mode, whole.mtime_ns, whole.chmod, contents)


def _write_piece(piece: Piece, chunk: memoryview) -> None:
    # The pieces of a file are written by several workers; the first one creates it.
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(piece.path, flags, 0o600)
    try:
        _write_all(
            descriptor, chunk[piece.chunk_offset : piece.chunk_offset + piece.length], piece.file_offset
        )
    finally:
        os.close(descriptor)


def _write_file(path: str, mode: int, mtime_ns: int, chmod: bool, contents: list[memoryview]) -> None:
    """Create the file, write its contents in one system call (more only for a short write), finish it."""
    descriptor = _create(path, mode)
    try:
        written = os.writev(descriptor, contents) if contents else 0
        if written < sum(map(len, contents)):
            _write_all(descriptor, memoryview(b"".join(contents))[written:], written)
        if chmod:
            os.fchmod(descriptor, mode)
        os.utime(descriptor, ns=(mtime_ns, mtime_ns))
    finally:
        os.close(descriptor)


def _create(path: str, mode: int) -> int:
    """A new file, open for writing whatever `mode` says (a mode given at creation binds later opens)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode & 0o777)


def _umask() -> int | None:
    """This process's umask, read without changing it (`os.umask` sets it, for every thread at once);
    None where the kernel does not say, and every file is then given its mode explicitly."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with Path("/proc/self/status").open(encoding="ascii") as status:
            line = next(line for line in status if line.startswith("Umask:"))
        return int(line.split()[1], 8)
    return None


def _write_all(descriptor: int, content: memoryview, offset: int) -> None:
    while content:
        count = os.pwrite(descriptor, content, offset)
        content = content[count:]
        offset += count


def _swap_into_place(restored: Path, target: Path) -> None:
    if not os.path.lexists(target):
        restored.rename(target)
        return
    # Named after the restoring directory, whose name mkdtemp made unique in this directory.
    replaced = restored.with_name(restored.name.replace(".restoring-", ".replaced-", 1))
    target.rename(replaced)
    try:
        restored.rename(target)
    except OSError as error:
        try:
            replaced.rename(target)
        except OSError as undo_error:
            raise SnapshotError(
                f"could not put the restored workspace in place ({error}) nor the old one back "
                f"({undo_error}): the old workspace is at {replaced}; move it back to {target}"
            ) from error
        raise
    _remove_tree(replaced)


def _remove_tree(path: Path) -> None:
    """Delete a tree, read-only directories included; what cannot be deleted is logged, not raised."""

    def make_writable_and_retry(function: Callable[[str], object], failed: str, *_: object) -> None:
        failed_path = Path(failed)
        with contextlib.suppress(OSError):
            failed_path.parent.chmod(stat.S_IRWXU)
            if failed_path.is_dir() and not failed_path.is_symlink():
                failed_path.chmod(stat.S_IRWXU)
            function(failed)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable_and_retry)
    else:
        shutil.rmtree(path, onerror=make_writable_and_retry)
    if os.path.lexists(path):
        logger.warning("could not delete all of %s; delete it by hand to free its space", path)
