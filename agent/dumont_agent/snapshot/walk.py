"""Walking a workspace: its entries in sorted order, and its files' contents cut into chunks.

A file of `SMALL_FILE_BYTES` or more is cut on its own; smaller files are cut together, as one stream of
their contents in walk order (`dumont_agent.snapshot.cutting`). The walking thread reads and cuts the
small files, and gives out their chunks for the workers to hash, compress and write; each large file it
gives out whole (`LargeFile`), for a worker to read, cut, hash, compress and write on its own, so the
cutting of most bytes runs on every core, and no copy of a large file's chunks is made.
"""

# Paths are plain strings and os calls here, not pathlib: per file, a Path object costs more than the
# system calls it wraps, and a workspace holds hundreds of thousands of files.
# ruff: noqa: PTH115, PTH118

from __future__ import annotations

import bisect
import os
import stat
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from dumont_agent.snapshot import cutting
from dumont_agent.snapshot.manifest import DIRECTORY, FILE, ROOT, SYMLINK, EntryTable, Span
from dumont_agent.snapshot.reading import Identity, identity_of, read_unchanged, workspace_changed

SMALL_FILE_BYTES = 1024 * 1024
"""Files smaller than this are cut together with their neighbours instead of on their own."""
READ_BYTES = 4 * 1024 * 1024
"""A large file is read this much at a time."""
LARGE_CUT_AFTER = 4
"""Maximum-sized chunks a large file's cutter holds before it cuts: each worker has one, of 12 MiB."""
_NOT_YET = -1

Put = Callable[["bytes | memoryview"], int]
"""Stores a chunk: its slot in the store."""


class StreamChunks:
    """Where the chunks of one stream start, and the store's slot of each once it is stored: a file's
    bytes in its stream become spans of chunks once every chunk is. Arrays, not lists: 8 bytes a chunk,
    not 36.

    The walking thread appends; a worker sets the slot of a chunk it stored. Each is one call on an
    array, made while holding the GIL, so neither sees the other halfway."""

    def __init__(self) -> None:
        self.starts = array("q")
        self.lengths = array("q")
        self.slots = array("i")

    def add(self, start: int, length: int, slot: int = _NOT_YET) -> int:
        """The chunk's number in the stream."""
        self.starts.append(start)
        self.lengths.append(length)
        self.slots.append(slot)
        return len(self.slots) - 1

    def spans(self, start: int, length: int, chunk_of_slot: Callable[[int], int]) -> list[Span]:
        index = bisect.bisect_right(self.starts, start) - 1
        spans = []
        while length > 0:
            offset = start - self.starts[index]
            taken = min(self.lengths[index] - offset, length)
            spans.append(Span(chunk_of_slot(self.slots[index]), offset, taken))
            start, length, index = start + taken, length - taken, index + 1
        return spans


@dataclass(frozen=True)
class LargeFile:
    """A file cut on its own, by whichever worker takes it: `cut` reads it, cuts it and stores each
    chunk, recording where they are in `chunks`."""

    path: str
    relative: str
    identity: Identity
    size: int
    chunks: StreamChunks

    def cut(self, cutter: cutting.CutStream, put: Put) -> None:
        """With a cutter of `LARGE_FILES` that gives views, used by this thread alone."""
        cutter.restart()
        for offset in range(0, self.size, READ_BYTES):
            length = min(READ_BYTES, self.size - offset)
            with cutter.room(length) as room:
                read_unchanged(self.path, self.relative, self.identity, room, offset)
            self._store(cutter.filled(length), put)
        self._store(cutter.finish(), put)

    def _store(self, chunks: Iterator[tuple[int, bytes | memoryview]], put: Put) -> None:
        for start, data in chunks:
            self.chunks.add(start, len(data), put(data))


def large_file_cutter() -> cutting.CutStream:
    """A cutter for `LargeFile.cut`, to be reused for every large file a thread cuts: fresh pages for
    every file cost the kernel as much as the reading itself."""
    return cutting.CutStream(cutting.LARGE_FILES, READ_BYTES, views=True, cut_after_maximums=LARGE_CUT_AFTER)


SmallChunk = tuple[int, bytes]
"""A chunk of the small files' stream: its number there, and its bytes."""


class Planner:
    """Walks the workspace in sorted order and records its entries: `work` gives out the small files'
    chunks and the large files, `small_files` and each `LargeFile.chunks` say where each chunk is in its
    stream. The files are entries without spans until `entries_with_spans`: where each file is in which
    stream is kept beside them, in arrays."""

    def __init__(self, workspace: Path, excluded_directory: tuple[int, int] | None) -> None:
        self.workspace = workspace
        self.excluded_directory = excluded_directory
        self.entries = EntryTable()
        self._file_streams = array("i")
        self._file_starts = array("q")
        """Where each file's content starts in its stream."""
        self._file_sizes = array("q")
        self.skipped: list[str] = []
        self.small_files = StreamChunks()
        """The small files' stream, numbered 0; each large file is a stream of its own, numbered from 1."""
        self._streams: list[StreamChunks] = [self.small_files]
        self._small_files_cutter = cutting.CutStream(cutting.SMALL_FILES, SMALL_FILE_BYTES)

    def work(self) -> Iterator[SmallChunk | LargeFile]:
        root_status = self.workspace.stat()
        self.entries.add(ROOT, DIRECTORY, stat.S_IMODE(root_status.st_mode), root_status.st_mtime_ns)
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
                self.entries.add(relative, DIRECTORY, stat.S_IMODE(mode), status.st_mtime_ns)
                stack.append(iter(self._listing(path, relative)))
            elif stat.S_ISLNK(mode):
                target = os.readlink(path)
                self.entries.add(relative, SYMLINK, stat.S_IMODE(mode), status.st_mtime_ns, target=target)
            elif stat.S_ISREG(mode):
                yield from self._file(path, relative, status)
            else:
                self.skipped.append(relative)
        yield from self._small_chunks(self._small_files_cutter.finish())

    @staticmethod
    def _listing(directory: str, relative: str) -> list[tuple[str, str]]:
        with os.scandir(directory) as scan:
            names = sorted(entry.name for entry in scan)
        prefix = f"{relative}/" if relative else ""
        return [(os.path.join(directory, name), prefix + name) for name in names]

    def _file(self, path: str, relative: str, status: os.stat_result) -> Iterator[SmallChunk | LargeFile]:
        identity = identity_of(status)
        size = status.st_size
        mode = stat.S_IMODE(status.st_mode)
        if size >= SMALL_FILE_BYTES:
            chunks = StreamChunks()
            self._add_file(relative, mode, status.st_mtime_ns, size, len(self._streams), 0)
            self._streams.append(chunks)
            yield LargeFile(path, relative, identity, size, chunks)
        else:
            cutter = self._small_files_cutter
            self._add_file(relative, mode, status.st_mtime_ns, size, 0, cutter.position)
            if size:
                with cutter.room(size) as room:
                    read_unchanged(path, relative, identity, room, 0)
                yield from self._small_chunks(cutter.filled(size))

    def _add_file(self, path: str, mode: int, mtime_ns: int, size: int, stream: int, start: int) -> None:
        self.entries.add(path, FILE, mode, mtime_ns, size)
        self._file_streams.append(stream)
        self._file_starts.append(start)
        self._file_sizes.append(size)

    def _small_chunks(self, chunks: Iterator[tuple[int, bytes | memoryview]]) -> Iterator[SmallChunk]:
        for start, data in chunks:
            assert isinstance(data, bytes), "the small files' cutter gives copies"
            yield self.small_files.add(start, len(data)), data

    def entries_with_spans(self, chunk_of_slot: Callable[[int], int]) -> EntryTable:
        """The entries, each file with its spans in the chunks numbered as `chunk_of_slot` says, once
        every chunk is stored. It is asked for the chunks in the order the files use them."""
        streams = self._streams
        files = zip(self._file_streams, self._file_starts, self._file_sizes, strict=True)
        self.entries.fill_spans(
            streams[stream].spans(start, size, chunk_of_slot) for stream, start, size in files
        )
        self._file_streams, self._file_starts, self._file_sizes = array("i"), array("q"), array("q")
        return self.entries
