# Paths are plain strings and os calls here, not pathlib: per file, a Path object costs more than the
# system calls it wraps, and a workspace holds hundreds of thousands of files.
# ruff: noqa: PTH101, PTH102, PTH115, PTH118, PTH211
"""Workspace snapshots: pack a directory into content-addressed chunks, restore it verified or not at all.

A snapshot is a manifest (`Manifest.to_bytes`) and the chunks it names. Every chunk is one LZ4 frame
stored under the SHA-256 of its uncompressed bytes, so a chunk that is already stored never has to be
uploaded again, and every byte restored is checked against the digest it was stored under.

- A file of `SMALL_FILE_BYTES` or more is cut into pieces of `CHUNK_BYTES`, one chunk each.
- Smaller files go, in walk order, into bundle chunks: each a tar stream of consecutive files. A bundle
  ends after a file whose path hashes below `BUNDLE_BOUNDARY_BELOW` (about 1 file in 32), or once it
  holds `BUNDLE_TARGET_BYTES`. Ending bundles where the paths say, not where a byte count falls, keeps
  the bundles after a changed file identical, so a second snapshot uploads only the changed bundle.
- The manifest records every regular file, directory and symlink: mode, mtime and, for files, which
  bytes of which chunks make up the content.

No network I/O happens here: `pack` writes frames into a staging directory for the caller to upload,
and `restore` asks the caller's `fetch` for each frame. Hashing and LZ4 release the GIL, so they run on
`workers` threads; the walking thread reads the small files, the workers read the pieces of large ones.
A few chunks per worker at most are in memory, however large the workspace.

Not kept: owners and groups (restored files belong to whoever restores them), hard links (each path
gets a copy), extended attributes, ACLs and holes in sparse files. Sockets, FIFOs and device nodes are
skipped and listed in `PackResult.skipped`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import stat
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from collections.abc import Set as AbstractSet
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import lz4.frame

from dumont_agent.snapshot_manifest import (
    DIRECTORY,
    FILE,
    ROOT,
    SYMLINK,
    ChunkRef,
    CorruptChunk,
    Entry,
    Manifest,
    MissingChunk,
    NotEnoughSpace,
    SnapshotError,
    Span,
    WorkspaceChanged,
    compress_chunk,
    new_manifest,
)

__all__ = [
    "BUNDLE_BOUNDARY_BELOW",
    "BUNDLE_TARGET_BYTES",
    "CHUNK_BYTES",
    "SMALL_FILE_BYTES",
    "ChunkRef",
    "CorruptChunk",
    "Entry",
    "Manifest",
    "MissingChunk",
    "NotEnoughSpace",
    "PackResult",
    "RestoreResult",
    "SnapshotError",
    "Span",
    "WorkspaceChanged",
    "pack",
    "restore",
]

CHUNK_BYTES = 8 * 1024 * 1024
SMALL_FILE_BYTES = 1024 * 1024
"""Files smaller than this are bundled with their neighbours instead of getting chunks of their own."""
BUNDLE_TARGET_BYTES = 4 * 1024 * 1024
BUNDLE_BOUNDARY_BELOW = 8
"""A bundle ends after a file whose sha256(path) starts with a byte below this: 8/256, 1 file in 32."""
CHUNKS_IN_FLIGHT_PER_WORKER = 2
QUEUED_PIECES_PER_WORKER = 256
"""Pieces of large files waiting for a worker: a few hundred bytes each, as they are read when run."""

logger = logging.getLogger(__name__)

_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_PACK_UNDONE = "the chunks this pack staged were removed again"
_RESTORE_UNDONE = "the workspace was left as it was"
_TAR_BLOCK = 512
_END_OF_ARCHIVE = bytes(2 * _TAR_BLOCK)


@dataclass(frozen=True)
class PackResult:
    manifest: Manifest
    written: list[ChunkRef]
    """Chunks whose frames this pack wrote to staging (not in `known`), in manifest order."""
    seconds: float
    skipped: tuple[str, ...] = ()
    """Sockets, FIFOs and device nodes: not data, so not in the snapshot."""

    @property
    def stored_bytes(self) -> int:
        """Bytes of every chunk of the snapshot as stored, written now or before."""
        return sum(chunk.stored_size for chunk in self.manifest.chunks)

    @property
    def written_bytes(self) -> int:
        return sum(chunk.stored_size for chunk in self.written)

    @property
    def compression_ratio(self) -> float:
        stored = self.stored_bytes
        return self.manifest.total_bytes / stored if stored else 1.0


@dataclass(frozen=True)
class RestoreResult:
    files: int
    bytes: int
    seconds: float


# Packing ----------------------------------------------------------------------------------------------


_Identity = tuple[int, int, int, int]
"""Device, inode, size and mtime: what must not change between walking a file and reading it, or the
copy could be torn."""


def _identity(status: os.stat_result) -> _Identity:
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


class _Member(NamedTuple):
    path: str
    relative: str
    identity: _Identity
    header: bytes
    data_offset: int
    """Where the file's content starts in the bundle."""


@dataclass
class _PieceJob:
    """A piece of a large file: read, hashed, compressed and written by a worker."""

    path: str
    relative: str
    identity: _Identity
    offset: int
    length: int

    def run(self, store: _ChunkStore) -> str:
        piece = _reading_buffer(self.length)
        descriptor = _open_unchanged(self.path, self.relative, self.identity)
        try:
            _read_exactly(descriptor, piece, self.offset, self.relative)
            _check_unchanged(descriptor, self.relative, self.identity)
        finally:
            os.close(descriptor)
        return store.put(piece)


@dataclass
class _BundleJob:
    """A tar stream of small files, read by the walking thread (see `_read_bundle`)."""

    data: bytearray

    def run(self, store: _ChunkStore) -> str:
        return store.put(memoryview(self.data))


def _read_bundle(members: list[_Member], size: int) -> bytearray:
    """The tar stream of `members`: `size` bytes of headers, contents and padding, then the end of archive.

    This runs on the thread that walks, not on the workers: small files cost a handful of system calls
    each, and a worker going back and forth between them and the GIL would wait on the others for every
    one. The workers get the work that runs without the GIL: hashing, compressing, writing.
    """
    bundle = bytearray(size + len(_END_OF_ARCHIVE))  # zeros: the padding and end of archive are ready
    view = memoryview(bundle)
    for path, relative, identity, header, data_offset in members:
        view[data_offset - len(header) : data_offset] = header
        descriptor = _open_unchanged(path, relative, identity)
        try:
            _read_exactly(descriptor, view[data_offset : data_offset + identity[2]], 0, relative)
            _check_unchanged(descriptor, relative, identity)
        finally:
            os.close(descriptor)
    return bundle


_thread_buffers = threading.local()


def _reading_buffer(size: int) -> memoryview:
    """`size` bytes of this thread's read buffer. Reusing it spares the kernel from mapping and zeroing
    fresh pages for every chunk, which costs as much system time as reading the workspace itself."""
    buffer: bytearray | None = getattr(_thread_buffers, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _thread_buffers.buffer = bytearray(max(size, CHUNK_BYTES))
    return memoryview(buffer)[:size]


def _read_exactly(descriptor: int, into: memoryview, offset: int, relative: str) -> None:
    while into:
        count = os.preadv(descriptor, [into], offset)
        if count == 0:  # the file is shorter than when it was walked
            raise _changed(relative)
        into = into[count:]
        offset += count


def _changed(relative: str) -> WorkspaceChanged:
    return WorkspaceChanged(
        f"{relative} changed while it was being packed; stop the processes writing to the workspace "
        "and pack again"
    )


def _open_unchanged(path: str, relative: str, identity: _Identity) -> int:
    """A descriptor of the file the walk saw, not of what may have been put in its place since."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise _changed(relative) from error
    except OSError as error:
        if error.errno == errno.ELOOP:  # replaced by a symlink since the walk
            raise _changed(relative) from error
        raise
    try:
        _check_unchanged(descriptor, relative, identity)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _check_unchanged(descriptor: int, relative: str, identity: _Identity) -> None:
    if _identity(os.fstat(descriptor)) != identity:
        raise _changed(relative)


def tar_header(name: str, size: int, mode: int) -> bytes:
    """The tar header of a regular file in a bundle: owner and mtime are zero, because the manifest holds
    the metadata and a file that was only touched should not change its bundle.

    Plain ustar when the name fits (what tarfile writes, without its per-call overhead), else PAX.
    """
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) <= 100 and encoded.isascii() and size < 8**11:
        mode_field = b"%07o\0" % mode
        size_field = b"%011o\0" % size
        checksum = _USTAR_CONSTANT_SUM + sum(encoded) + sum(mode_field) + sum(size_field)
        return b"".join(
            (
                encoded,
                bytes(100 - len(encoded)),
                mode_field,
                _USTAR_OWNER,
                size_field,
                _USTAR_MTIME,
                b"%06o\0 " % checksum,
                _USTAR_REST,
            )
        )
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, 0
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


# The fields of a ustar header (offsets 0-512) that are the same for every file of a bundle.
_USTAR_OWNER = b"0000000\0" * 2  # uid and gid, 108-124
_USTAR_MTIME = b"00000000000\0"  # 136-148
# 156-512: type, link name, magic and version; the rest (user and group names, device, prefix) is empty.
_USTAR_REST = tarfile.REGTYPE + bytes(100) + tarfile.POSIX_MAGIC + bytes(247)
_USTAR_CONSTANT_SUM = sum(_USTAR_OWNER) + sum(_USTAR_MTIME) + sum(b" " * 8) + sum(_USTAR_REST)
"""The checksum is summed over the header with its own field as eight spaces."""


def _ends_bundle(relative: str) -> bool:
    return hashlib.sha256(relative.encode("utf-8", "surrogateescape")).digest()[0] < BUNDLE_BOUNDARY_BELOW


class _FileDraft(NamedTuple):
    path: str
    mode: int
    mtime_ns: int
    size: int
    spans: list[tuple[int, int, int]]
    """(job number, offset in that job's chunk, length): chunk numbers are known once jobs are done."""


class _Planner:
    """Walks the workspace in sorted order, records its entries and cuts the files into chunk jobs."""

    def __init__(self, workspace: Path, excluded_directory: tuple[int, int] | None) -> None:
        self.workspace = workspace
        self.excluded_directory = excluded_directory
        self.drafts: list[Entry | _FileDraft] = []
        self.skipped: list[str] = []
        self.job_count = 0
        self._members: list[_Member] = []
        self._bundle_size = 0
        """Bytes of the open bundle's tar stream so far, without its end-of-archive blocks."""
        self._bundle_number = self._next_job_number()

    def _next_job_number(self) -> int:
        self.job_count += 1
        return self.job_count - 1

    def jobs(self) -> Iterator[tuple[int, _PieceJob | _BundleJob]]:
        root_status = self.workspace.stat()
        self.drafts.append(Entry(ROOT, DIRECTORY, stat.S_IMODE(root_status.st_mode), root_status.st_mtime_ns))
        # Depth first with an explicit stack: a deep tree cannot hit the recursion limit.
        stack = [iter(self._listing(str(self.workspace), ""))]
        while stack:
            item = next(stack[-1], None)
            if item is None:
                stack.pop()
                continue
            path, relative = item
            try:
                status = os.lstat(path)
            except FileNotFoundError as error:
                raise _changed(relative) from error
            mode = status.st_mode
            if stat.S_ISDIR(mode):
                if (status.st_dev, status.st_ino) == self.excluded_directory:
                    continue
                self.drafts.append(Entry(relative, DIRECTORY, stat.S_IMODE(mode), status.st_mtime_ns))
                stack.append(iter(self._listing(path, relative)))
            elif stat.S_ISLNK(mode):
                target = os.readlink(path)
                self.drafts.append(
                    Entry(relative, SYMLINK, stat.S_IMODE(mode), status.st_mtime_ns, target=target)
                )
            elif stat.S_ISREG(mode):
                yield from self._file(path, relative, status)
            else:
                self.skipped.append(relative)
        if self._members:
            yield self._close_bundle()

    @staticmethod
    def _listing(directory: str, relative: str) -> list[tuple[str, str]]:
        with os.scandir(directory) as scan:
            names = sorted(entry.name for entry in scan)
        prefix = f"{relative}/" if relative else ""
        return [(os.path.join(directory, name), prefix + name) for name in names]

    def _file(
        self, path: str, relative: str, status: os.stat_result
    ) -> Iterator[tuple[int, _PieceJob | _BundleJob]]:
        identity = _identity(status)
        size = status.st_size
        spans: list[tuple[int, int, int]] = []
        mode = stat.S_IMODE(status.st_mode)
        self.drafts.append(_FileDraft(relative, mode, status.st_mtime_ns, size, spans))
        if size >= SMALL_FILE_BYTES:
            for offset in range(0, size, CHUNK_BYTES):
                length = min(CHUNK_BYTES, size - offset)
                number = self._next_job_number()
                spans.append((number, 0, length))
                yield number, _PieceJob(path, relative, identity, offset, length)
        elif size > 0:
            header = tar_header(relative, size, mode)
            data_offset = self._bundle_size + len(header)
            self._members.append(_Member(path, relative, identity, header, data_offset))
            self._bundle_size = data_offset + size + (-size % _TAR_BLOCK)
            spans.append((self._bundle_number, data_offset, size))
            if _ends_bundle(relative) or self._bundle_size >= BUNDLE_TARGET_BYTES:
                yield self._close_bundle()

    def _close_bundle(self) -> tuple[int, _BundleJob]:
        job = self._bundle_number, _BundleJob(_read_bundle(self._members, self._bundle_size))
        self._members, self._bundle_size = [], 0
        self._bundle_number = self._next_job_number()
        return job


class _ChunkStore:
    """Hashes chunks and writes the frames of those not stored yet; called from the worker threads."""

    def __init__(self, staging: Path, known: Collection[str], known_sizes: Mapping[str, int]) -> None:
        self.staging = staging
        self.known = known if isinstance(known, (AbstractSet, Mapping)) else frozenset(known)
        self.known_sizes = known_sizes
        self.refs: dict[str, ChunkRef] = {}
        self.written: list[ChunkRef] = []
        self.created: list[Path] = []
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    def put(self, data: memoryview) -> str:
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            # The same content twice in one workspace (copies, zero-filled pieces) is handled once.
            if digest in self._claimed:
                return digest
            self._claimed.add(digest)
        if digest in self.known:
            stored_size = self.known_sizes.get(digest)
            if stored_size is None:
                stored_size = len(compress_chunk(data))
            ref = ChunkRef(digest, len(data), stored_size)
            with self._lock:
                self.refs[digest] = ref
            return digest
        frame = compress_chunk(data)
        ref = ChunkRef(digest, len(data), len(frame))
        path = self.staging / digest
        existed = os.path.lexists(path)
        _write_atomically(path, frame)
        with self._lock:
            self.refs[digest] = ref
            self.written.append(ref)
            if not existed:
                self.created.append(path)
        return digest

    def remove_created(self) -> None:
        for path in self.created:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers of `path` see all of `data` or no file: it is written under another name, then renamed."""
    partial = path.with_name(f".{path.name}.{threading.get_ident()}.partial")
    try:
        with partial.open("wb") as file:
            file.write(data)
        partial.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise


def _worker_count(workers: int | None) -> int:
    count = workers if workers is not None else os.cpu_count() or 1
    if count < 1:
        raise ValueError(f"workers must be at least 1, not {count}")
    return count


class _Pipeline:
    """A thread pool that holds at most `limit` tasks submitted and not yet finished: `submit` waits
    for room, which bounds the memory the tasks hold however large the workspace is."""

    def __init__(self, workers: int, limit: int, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._limit = limit
        self._pending: set[Future[None]] = set()

    def submit(self, function: Callable[..., None], *args: Any) -> None:
        while len(self._pending) >= self._limit:
            self._collect(FIRST_COMPLETED)
        self._pending.add(self._executor.submit(function, *args))

    def finish(self) -> None:
        """Wait for every task; raise the first error among them."""
        self._collect(ALL_COMPLETED)

    def _collect(self, return_when: str) -> None:
        done, self._pending = wait(self._pending, return_when=return_when)
        for future in done:
            future.result()

    def close(self) -> None:
        """Cancel what has not started and wait for what has: nothing writes after this returns."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def pack(
    workspace: Path,
    staging: Path,
    *,
    known: Collection[str] = (),
    known_sizes: Mapping[str, int] | None = None,
    workers: int | None = None,
) -> PackResult:
    """Snapshot `workspace`: write the LZ4 frame of every chunk not in `known` to `staging / digest`.

    Chunks in `known` (digests already stored) are only hashed; their stored size comes from
    `known_sizes` (`Manifest.stored_sizes` of the previous snapshot), and only the chunks missing from it
    are compressed again, to learn their size. `staging` may be inside the workspace: it is not packed.
    The workspace must not change meanwhile; a file that does raises WorkspaceChanged.

    On any failure the frames this call wrote are removed again; a full disk raises NotEnoughSpace.
    """
    started = time.perf_counter()
    workspace, staging = Path(workspace), Path(staging)
    store = _ChunkStore(staging, known, known_sizes or {})
    try:
        staging.mkdir(parents=True, exist_ok=True)
        staging_status = staging.stat()
        planner = _Planner(workspace, (staging_status.st_dev, staging_status.st_ino))
        count = _worker_count(workers)
        # A queued piece holds no data (its worker reads it), so many may wait while the walk goes on
        # to read small files, which keeps every core busy. A bundle holds its data once it is read.
        pieces = _Pipeline(count, QUEUED_PIECES_PER_WORKER * count, "snapshot-piece")
        bundles = _Pipeline(count, CHUNKS_IN_FLIGHT_PER_WORKER * count, "snapshot-bundle")
        digests: dict[int, str] = {}

        def run(number: int, job: _PieceJob | _BundleJob) -> None:
            digests[number] = job.run(store)

        try:
            for number, job in planner.jobs():
                (pieces if isinstance(job, _PieceJob) else bundles).submit(run, number, job)
            pieces.finish()
            bundles.finish()
        finally:
            pieces.close()
            bundles.close()
    except BaseException as error:
        store.remove_created()
        converted = _snapshot_error(error, f"packing {workspace} into {staging}", _PACK_UNDONE)
        if converted is error:
            raise
        raise converted from error

    chunk_numbers: dict[str, int] = {}
    chunks: list[ChunkRef] = []
    entries: list[Entry] = []
    for draft in planner.drafts:
        if isinstance(draft, Entry):
            entries.append(draft)
            continue
        spans = []
        for job_number, offset, length in draft.spans:
            digest = digests[job_number]
            chunk = chunk_numbers.get(digest)
            if chunk is None:
                chunk = chunk_numbers[digest] = len(chunks)
                chunks.append(store.refs[digest])
            spans.append(Span(chunk, offset, length))
        entries.append(Entry(draft.path, FILE, draft.mode, draft.mtime_ns, draft.size, spans=tuple(spans)))
    written = sorted(store.written, key=lambda ref: chunk_numbers[ref.digest])
    return PackResult(
        manifest=new_manifest(entries, chunks),
        written=written,
        seconds=time.perf_counter() - started,
        skipped=tuple(planner.skipped),
    )


def _snapshot_error(error: BaseException, doing: str, outcome: str) -> BaseException:
    """What a caller should see: SnapshotError for whatever the disk or the data did, anything else as is."""
    if isinstance(error, SnapshotError) or not isinstance(error, OSError):
        return error
    if error.errno in _SPACE_ERRNOS:
        return NotEnoughSpace(
            f"no space left on the device while {doing} ({error}); {outcome}. Free some space and try again"
        )
    return SnapshotError(f"{doing} failed ({error}); {outcome}")


# Restoring --------------------------------------------------------------------------------------------


class _SpanWrite(NamedTuple):
    path: str
    file_offset: int
    chunk_offset: int
    length: int
    whole_file: Entry | None
    """The file's entry when this span is all of it: the file is created, written and finished at once."""


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
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(target.parent).free
    except OSError as error:
        raise _snapshot_error(error, doing, _RESTORE_UNDONE) from error
    if free < manifest.total_bytes:
        raise NotEnoughSpace(
            f"restoring needs {manifest.total_bytes:,} bytes free next to {target}, only {free:,} are; "
            "the current workspace stays in place until the new one is complete, so both must fit"
        )
    try:
        restoring = Path(tempfile.mkdtemp(prefix=f".{target.name}.restoring-", dir=target.parent))
    except OSError as error:
        raise _snapshot_error(error, doing, _RESTORE_UNDONE) from error
    try:
        _restore_tree(manifest, fetch, str(restoring), workers)
        _swap_into_place(restoring, target)
    except BaseException as error:
        _remove_tree(restoring)
        converted = _snapshot_error(error, doing, _RESTORE_UNDONE)
        if converted is error:
            raise
        raise converted from error
    return RestoreResult(
        files=manifest.file_count, bytes=manifest.total_bytes, seconds=time.perf_counter() - started
    )


def _restore_tree(manifest: Manifest, fetch: Callable[[str], bytes], root: str, workers: int | None) -> None:
    entries = manifest.entries
    # Directories stay writable by us until everything inside them is written.
    for entry in entries[1:]:
        if entry.kind == DIRECTORY:
            os.mkdir(os.path.join(root, entry.path), 0o700)
    writes: list[list[_SpanWrite]] = [[] for _ in manifest.chunks]
    pieced: list[tuple[str, Entry]] = []
    for entry in entries:
        if entry.kind != FILE:
            continue
        path = os.path.join(root, entry.path)
        if not entry.spans:
            descriptor = _create(path)
            try:
                _finish_file(descriptor, entry)
            finally:
                os.close(descriptor)
        elif len(entry.spans) == 1:
            span = entry.spans[0]
            writes[span.chunk].append(_SpanWrite(path, 0, span.offset, span.length, entry))
        else:
            pieced.append((path, entry))
            file_offset = 0
            for span in entry.spans:
                writes[span.chunk].append(_SpanWrite(path, file_offset, span.offset, span.length, None))
                file_offset += span.length

    count = _worker_count(workers)
    pipeline = _Pipeline(count, CHUNKS_IN_FLIGHT_PER_WORKER * count, "snapshot-restore")
    try:
        for chunk, chunk_writes in zip(manifest.chunks, writes, strict=True):
            pipeline.submit(_restore_chunk, chunk, chunk_writes, fetch)
        pipeline.finish()
    finally:
        pipeline.close()

    for path, entry in pieced:
        os.chmod(path, entry.mode)
        os.utime(path, ns=(entry.mtime_ns, entry.mtime_ns))
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


def _restore_chunk(chunk: ChunkRef, writes: list[_SpanWrite], fetch: Callable[[str], bytes]) -> None:
    try:
        frame = fetch(chunk.digest)
    except Exception as error:
        raise MissingChunk(chunk.digest, str(error) or type(error).__name__) from error
    data = _open_frame(chunk, frame)
    with memoryview(data) as view:
        for write in writes:
            content = view[write.chunk_offset : write.chunk_offset + write.length]
            if write.whole_file is not None:
                descriptor = _create(write.path)
                try:
                    _write_all(descriptor, content, 0)
                    _finish_file(descriptor, write.whole_file)
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


def _open_frame(chunk: ChunkRef, frame: bytes) -> bytes:
    """The chunk's content, after checking it is exactly what its digest names."""
    try:
        # The declared size is checked first: a damaged frame must not make us allocate gigabytes.
        declared = lz4.frame.get_frame_info(frame)["content_size"]
        if declared != chunk.size:
            raise CorruptChunk(
                chunk.digest, f"its frame holds {declared} bytes, the manifest says {chunk.size}"
            )
        data = lz4.frame.decompress(frame)
    except (RuntimeError, ValueError, TypeError, KeyError) as error:
        raise CorruptChunk(chunk.digest, f"not a valid LZ4 frame: {error}") from error
    if len(data) != chunk.size:
        raise CorruptChunk(chunk.digest, f"it holds {len(data)} bytes, the manifest says {chunk.size}")
    if hashlib.sha256(data).hexdigest() != chunk.digest:
        raise CorruptChunk(chunk.digest, "its content does not match its digest")
    return data


def _create(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)


def _write_all(descriptor: int, content: memoryview, offset: int) -> None:
    while content:
        count = os.pwrite(descriptor, content, offset)
        content = content[count:]
        offset += count


def _finish_file(descriptor: int, entry: Entry) -> None:
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
