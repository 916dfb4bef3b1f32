"""Restoring: a manifest's workspace rebuilt next to the target from verified chunks, then swapped in.

Every chunk is checked against its digest before a byte of it is written, and the target is replaced
only once the whole snapshot is there, so a failed restore leaves the workspace as it was.
"""

# Paths are plain strings and os calls here, not pathlib: per file, a Path object costs more than the
# system calls it wraps, and a workspace holds hundreds of thousands of files.
# ruff: noqa: PTH101, PTH102, PTH118, PTH211

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from dumont_agent.snapshot.chunks import open_frame
from dumont_agent.snapshot.collecting import collection_paused
from dumont_agent.snapshot.errors import (
    MissingChunk,
    NotEnoughSpace,
    SnapshotError,
    failing_as_snapshot_error,
)
from dumont_agent.snapshot.manifest import DIRECTORY, FILE, ROOT, SYMLINK, ChunkRef, Entry, Manifest
from dumont_agent.snapshot.pipeline import CHUNKS_IN_FLIGHT_PER_WORKER, Pipeline

logger = logging.getLogger(__name__)

_RESTORE_UNDONE = "the workspace was left as it was"
BATCH_BYTES = 4 * 1024 * 1024
BATCH_CHUNKS = 64


@dataclass(frozen=True)
class RestoreResult:
    files: int
    bytes: int
    seconds: float


class _WholeFile(NamedTuple):
    mode: int
    mtime_ns: int
    chmod: bool
    """Whether the file needs a chmod once created with `mode`: the umask took bits away, or it has
    setuid, setgid or sticky bits (which creating a file may not set)."""


class _SpanWrite(NamedTuple):
    path: str
    file_offset: int
    chunk_offset: int
    length: int
    whole_file: _WholeFile | None
    """Set when this span is all of the file: it is created, written and finished at once."""


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
    # Read from the manifest's table once: the restore goes over the entries four times.
    entries = list(manifest.entries)
    # Directories stay writable by us until everything inside them is written.
    for entry in itertools.islice(entries, 1, None):
        if entry.kind == DIRECTORY:
            os.mkdir(os.path.join(root, entry.path), 0o700)
    writes, pieced = _plan_writes(entries, len(manifest.chunks), root, _umask())
    with Pipeline(workers, CHUNKS_IN_FLIGHT_PER_WORKER, "snapshot-restore") as pipeline:
        # In batches: one task per chunk costs more in handing over between threads than a small chunk's
        # work. A task fetches and writes its chunks one at a time, so it holds one chunk at most.
        batch: list[tuple[ChunkRef, list[_SpanWrite]]] = []
        size = 0
        for chunk, chunk_writes in zip(manifest.chunks, writes, strict=True):
            batch.append((chunk, chunk_writes))
            size += chunk.size
            if size >= BATCH_BYTES or len(batch) >= BATCH_CHUNKS:
                pipeline.submit(_restore_chunks, batch, fetch)
                batch, size = [], 0
        if batch:
            pipeline.submit(_restore_chunks, batch, fetch)
        pipeline.finish()
    for path, entry in pieced:
        os.chmod(path, entry.mode)
        os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns))
    _finish_links_and_directories(entries, root)


def _plan_writes(
    entries: list[Entry], chunk_count: int, root: str, umask: int | None
) -> tuple[list[list[_SpanWrite]], list[tuple[str, Entry]]]:
    """What each chunk writes where, and the files written in pieces (finished once all are written).
    Empty files are written here and now: no chunk holds anything of theirs."""
    writes: list[list[_SpanWrite]] = [[] for _ in range(chunk_count)]
    pieced: list[tuple[str, Entry]] = []
    for entry in entries:
        if entry.kind != FILE:
            continue
        path = os.path.join(root, entry.path)
        if not entry.spans:
            descriptor = _create(path, entry.mode)
            try:
                _finish_file(descriptor, entry, _needs_chmod(entry.mode, umask))
            finally:
                os.close(descriptor)
        elif len(entry.spans) == 1:
            span = entry.spans[0]
            whole = _WholeFile(entry.mode, entry.mtime_ns, _needs_chmod(entry.mode, umask))
            writes[span.chunk].append(_SpanWrite(path, 0, span.offset, span.length, whole))
        else:
            pieced.append((path, entry))
            file_offset = 0
            for span in entry.spans:
                writes[span.chunk].append(_SpanWrite(path, file_offset, span.offset, span.length, None))
                file_offset += span.length
    return writes, pieced


def _finish_links_and_directories(entries: Sequence[Entry], root: str) -> None:
    for entry in entries:
        if entry.kind == SYMLINK:
            path = os.path.join(root, entry.path)
            os.symlink(entry.target, path)
            os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns), follow_symlinks=False)
    # Children first: creating an entry changes its directory's mtime, a directory may be read-only.
    for entry in reversed(entries):
        if entry.kind == DIRECTORY:
            path = os.path.join(root, entry.path) if entry.path != ROOT else root
            os.chmod(path, entry.mode)
            os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns))


def _restore_chunks(batch: list[tuple[ChunkRef, list[_SpanWrite]]], fetch: Callable[[str], bytes]) -> None:
    for chunk, writes in batch:
        _restore_chunk(chunk, writes, fetch)


def _restore_chunk(chunk: ChunkRef, writes: list[_SpanWrite], fetch: Callable[[str], bytes]) -> None:
    try:
        frame = fetch(chunk.digest)
    except Exception as error:
        raise MissingChunk(chunk.digest, str(error) or type(error).__name__) from error
    data = open_frame(chunk, frame)
    with memoryview(data) as view:
        for write in writes:
            content = view[write.chunk_offset : write.chunk_offset + write.length]
            whole = write.whole_file
            if whole is not None:
                descriptor = _create(write.path, whole.mode)
                try:
                    _write_all(descriptor, content, 0)
                    if whole.chmod:
                        os.fchmod(descriptor, whole.mode)
                    os.utime(descriptor, ns=(whole.mtime_ns, whole.mtime_ns))
                finally:
                    os.close(descriptor)
            else:
                # The pieces of a large file are written by several workers; the first one creates it.
                flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
                descriptor = os.open(write.path, flags, 0o600)
                try:
                    _write_all(descriptor, content, write.file_offset)
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


def _needs_chmod(mode: int, umask: int | None) -> bool:
    """Whether a file created with `mode` ends with other permissions: a chmod is a system call a file,
    and most files' modes survive the usual umask (022)."""
    return umask is None or mode & 0o7000 != 0 or mode & umask != 0


def _write_all(descriptor: int, content: memoryview, offset: int) -> None:
    while content:
        count = os.pwrite(descriptor, content, offset)
        content = content[count:]
        offset += count


def _finish_file(descriptor: int, entry: Entry, chmod: bool = True) -> None:
    if chmod:
        os.fchmod(descriptor, entry.mode)
    os.utime(descriptor, ns=(entry.mtime_ns, entry.mtime_ns))


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
