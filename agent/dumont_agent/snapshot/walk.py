"""Walking a workspace: its entries in sorted order, and its files cut into chunk jobs.

A file of `SMALL_FILE_BYTES` or more is cut into pieces of `CHUNK_BYTES`, one chunk each; a worker reads
a piece when it runs. Smaller files go, in walk order, into bundles (`dumont_agent.snapshot.bundles`),
which the walking thread reads as each one is complete.
"""

# Paths are plain strings and os calls here, not pathlib: per file, a Path object costs more than the
# system calls it wraps, and a workspace holds hundreds of thousands of files.
# ruff: noqa: PTH115, PTH118

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from dumont_agent.snapshot.bundles import OpenBundle
from dumont_agent.snapshot.chunks import ChunkStore
from dumont_agent.snapshot.manifest import DIRECTORY, ROOT, SYMLINK, Entry
from dumont_agent.snapshot.reading import Identity, identity_of, read_unchanged, workspace_changed

CHUNK_BYTES = 8 * 1024 * 1024
SMALL_FILE_BYTES = 1024 * 1024
"""Files smaller than this are bundled with their neighbours instead of getting chunks of their own."""


@dataclass
class PieceJob:
    """A piece of a large file: read, hashed, compressed and written by a worker."""

    path: str
    relative: str
    identity: Identity
    offset: int
    length: int

    def run(self, store: ChunkStore) -> str:
        piece = _reading_buffer(self.length)
        read_unchanged(self.path, self.relative, self.identity, piece, self.offset)
        return store.put(piece)


@dataclass
class BundleJob:
    """A bundle's tar stream, read by the walking thread (see `OpenBundle.read`)."""

    data: bytearray

    def run(self, store: ChunkStore) -> str:
        return store.put(memoryview(self.data))


_thread_buffers = threading.local()


def _reading_buffer(size: int) -> memoryview:
    """`size` bytes of this thread's read buffer. Reusing it spares the kernel from mapping and zeroing
    fresh pages for every chunk, which costs as much system time as reading the workspace itself."""
    buffer: bytearray | None = getattr(_thread_buffers, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _thread_buffers.buffer = bytearray(max(size, CHUNK_BYTES))
    return memoryview(buffer)[:size]


class FileDraft(NamedTuple):
    path: str
    mode: int
    mtime_ns: int
    size: int
    spans: list[tuple[int, int, int]]
    """(job number, offset in that job's chunk, length): chunk numbers are known once jobs are done."""


class Planner:
    """Walks the workspace in sorted order, records its entries and cuts the files into chunk jobs."""

    def __init__(self, workspace: Path, excluded_directory: tuple[int, int] | None) -> None:
        self.workspace = workspace
        self.excluded_directory = excluded_directory
        self.drafts: list[Entry | FileDraft] = []
        self.skipped: list[str] = []
        self.job_count = 0
        self._bundle = OpenBundle()
        self._bundle_number = self._next_job_number()

    def _next_job_number(self) -> int:
        self.job_count += 1
        return self.job_count - 1

    def jobs(self) -> Iterator[tuple[int, PieceJob | BundleJob]]:
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
                raise workspace_changed(relative) from error
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
        if not self._bundle.empty:
            yield self._close_bundle()

    @staticmethod
    def _listing(directory: str, relative: str) -> list[tuple[str, str]]:
        with os.scandir(directory) as scan:
            names = sorted(entry.name for entry in scan)
        prefix = f"{relative}/" if relative else ""
        return [(os.path.join(directory, name), prefix + name) for name in names]

    def _file(
        self, path: str, relative: str, status: os.stat_result
    ) -> Iterator[tuple[int, PieceJob | BundleJob]]:
        identity = identity_of(status)
        size = status.st_size
        spans: list[tuple[int, int, int]] = []
        mode = stat.S_IMODE(status.st_mode)
        self.drafts.append(FileDraft(relative, mode, status.st_mtime_ns, size, spans))
        if size >= SMALL_FILE_BYTES:
            for offset in range(0, size, CHUNK_BYTES):
                length = min(CHUNK_BYTES, size - offset)
                number = self._next_job_number()
                spans.append((number, 0, length))
                yield number, PieceJob(path, relative, identity, offset, length)
        elif size > 0:
            data_offset, complete = self._bundle.add(path, relative, identity, mode)
            spans.append((self._bundle_number, data_offset, size))
            if complete:
                yield self._close_bundle()

    def _close_bundle(self) -> tuple[int, BundleJob]:
        job = self._bundle_number, BundleJob(self._bundle.read())
        self._bundle = OpenBundle()
        self._bundle_number = self._next_job_number()
        return job
