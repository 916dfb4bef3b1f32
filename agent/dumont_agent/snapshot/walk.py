"""Walking a workspace: its entries in sorted order, and its files' contents cut into chunks.

A file of `SMALL_FILE_BYTES` or more is cut on its own; smaller files are cut together, as one stream of
their contents in walk order (`dumont_agent.snapshot.cutting`). The walking thread reads and cuts; the
chunks it gives out are hashed, compressed and written by the workers.
"""

# Paths are plain strings and os calls here, not pathlib: per file, a Path object costs more than the
# system calls it wraps, and a workspace holds hundreds of thousands of files.
# ruff: noqa: PTH115, PTH118

from __future__ import annotations

import bisect
import os
import stat
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path

from dumont_agent.snapshot import cutting
from dumont_agent.snapshot.manifest import DIRECTORY, FILE, ROOT, SYMLINK, EntryTable, Span
from dumont_agent.snapshot.reading import identity_of, read_unchanged, workspace_changed

SMALL_FILE_BYTES = 1024 * 1024
"""Files smaller than this are cut together with their neighbours instead of on their own."""
READ_BYTES = 4 * 1024 * 1024
"""A large file is read this much at a time."""
SMALL_FILES_STREAM = 0
"""The stream the small files are cut from; each large file is a stream of its own, numbered from 1."""


class StreamChunks:
    """Where the chunks of one stream start, and which job made each: a file's bytes in its stream
    become spans of chunks once the jobs are done. Arrays, not lists: 8 bytes a chunk, not 36."""

    def __init__(self) -> None:
        self.starts = array("q")
        self.jobs = array("q")
        self.lengths = array("q")

    def add(self, start: int, job: int, length: int) -> None:
        self.starts.append(start)
        self.jobs.append(job)
        self.lengths.append(length)

    def spans(self, start: int, length: int, chunk_of_job: Sequence[int]) -> list[Span]:
        index = bisect.bisect_right(self.starts, start) - 1
        spans = []
        while length > 0:
            offset = start - self.starts[index]
            taken = min(self.lengths[index] - offset, length)
            spans.append(Span(chunk_of_job[self.jobs[index]], offset, taken))
            start, length, index = start + taken, length - taken, index + 1
        return spans


class Planner:
    """Walks the workspace in sorted order, records its entries and cuts the files into chunks: `jobs`
    gives out each chunk with its job number, `streams` says where each one is in its stream. The files
    are entries without spans until `entries_with_spans`: where each file is in which stream is kept
    beside them, in arrays."""

    def __init__(self, workspace: Path, excluded_directory: tuple[int, int] | None) -> None:
        self.workspace = workspace
        self.excluded_directory = excluded_directory
        self.entries = EntryTable()
        self._file_streams = array("i")
        self._file_starts = array("q")
        """Where each file's content starts in its stream."""
        self._file_sizes = array("q")
        self.skipped: list[str] = []
        self.job_count = 0
        self.streams: list[StreamChunks] = [StreamChunks()]
        self._small_files = cutting.CutStream(cutting.SMALL_FILES, SMALL_FILE_BYTES)
        self._large_file: cutting.CutStream | None = None
        """Made for the first large file, then restarted for each: its buffer is allocated once."""

    def jobs(self) -> Iterator[tuple[int, bytes]]:
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
        yield from self._numbered(SMALL_FILES_STREAM, self._small_files.finish())

    @staticmethod
    def _listing(directory: str, relative: str) -> list[tuple[str, str]]:
        with os.scandir(directory) as scan:
            names = sorted(entry.name for entry in scan)
        prefix = f"{relative}/" if relative else ""
        return [(os.path.join(directory, name), prefix + name) for name in names]

    def _file(self, path: str, relative: str, status: os.stat_result) -> Iterator[tuple[int, bytes]]:
        identity = identity_of(status)
        size = status.st_size
        mode = stat.S_IMODE(status.st_mode)
        if size >= SMALL_FILE_BYTES:
            stream = len(self.streams)
            self.streams.append(StreamChunks())
            self._add_file(relative, mode, status.st_mtime_ns, size, stream, 0)
            cutter = self._large_file_cutter()
            for offset in range(0, size, READ_BYTES):
                length = min(READ_BYTES, size - offset)
                with cutter.room(length) as room:
                    read_unchanged(path, relative, identity, room, offset)
                yield from self._numbered(stream, cutter.filled(length))
            yield from self._numbered(stream, cutter.finish())
        else:
            start = self._small_files.position
            self._add_file(relative, mode, status.st_mtime_ns, size, SMALL_FILES_STREAM, start)
            if size:
                with self._small_files.room(size) as room:
                    read_unchanged(path, relative, identity, room, 0)
                yield from self._numbered(SMALL_FILES_STREAM, self._small_files.filled(size))

    def _add_file(self, path: str, mode: int, mtime_ns: int, size: int, stream: int, start: int) -> None:
        self.entries.add(path, FILE, mode, mtime_ns, size)
        self._file_streams.append(stream)
        self._file_starts.append(start)
        self._file_sizes.append(size)

    def entries_with_spans(self, chunk_of_job: Sequence[int]) -> EntryTable:
        """The entries, each file with its spans in the chunks numbered as `chunk_of_job` says, once every
        job is done."""
        streams = self.streams
        files = zip(self._file_streams, self._file_starts, self._file_sizes, strict=True)
        self.entries.fill_spans(
            streams[stream].spans(start, size, chunk_of_job) for stream, start, size in files
        )
        self._file_streams, self._file_starts, self._file_sizes = array("i"), array("q"), array("q")
        return self.entries

    def _large_file_cutter(self) -> cutting.CutStream:
        # Reused: fresh pages for every file cost the kernel as much as the reading itself.
        if self._large_file is None:
            self._large_file = cutting.CutStream(cutting.LARGE_FILES, READ_BYTES)
        self._large_file.restart()
        return self._large_file

    def _numbered(self, stream: int, chunks: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        for start, data in chunks:
            number = self.job_count
            self.job_count += 1
            self.streams[stream].add(start, number, len(data))
            yield number, data
