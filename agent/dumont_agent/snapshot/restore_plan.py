"""What restoring a manifest writes, and in which order its chunks are handed to the workers.

A small file usually spans two or three chunks that follow one another. It is written
whole, with one `writev`, by the task that holds all those chunks: batches and lanes are never cut
inside it. Written a piece a chunk, it cost an open, a write and a close a piece, then a chmod and a
utime by path: three times the system calls, each one a handover of the GIL between workers.

A file that repeats content found earlier in the snapshot names a chunk far from its others, which may
be restored by another worker at any time: it is still written a piece at a time, by whichever task
holds each chunk, and finished once all are written. (Gathering such files in memory until their last
piece came needed some 80 MiB for the bench's 1 GiB workspace, for no gain that could be measured.)"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import NamedTuple

from dumont_agent.snapshot.manifest import DIRECTORY, FILE, ROOT, SYMLINK, ChunkRef, ChunkTable, Manifest
from dumont_agent.snapshot.tables import entry_rows

BATCH_BYTES = 4 * 1024 * 1024
BATCH_CHUNKS = 64
WHOLE_FILE_BYTES = 1024 * 1024
"""Files up to this size whose chunks follow one another are written whole; larger ones in pieces."""
WHOLE_FILE_PARTS = 256
"""At most this many spans in a file written whole: one `writev` takes them all (the system allows 1,024)."""


class WholeFile(NamedTuple):
    """A file created, written and finished at once, by the task that holds all its chunks."""

    path: str
    parts: tuple[tuple[int, int, int], ...]
    """The chunk number, offset and length of each of its spans, in order."""
    mode: int
    mtime_ns: int
    chmod: bool
    """Whether the file needs a chmod once created with `mode`: the umask took bits away, or it has
    setuid, setgid or sticky bits (which creating a file may not set)."""


class Piece(NamedTuple):
    """A span of a file written in pieces: at its offset, by whichever task holds its chunk."""

    path: str
    file_offset: int
    chunk_offset: int
    length: int


Write = WholeFile | Piece
Batch = list[tuple[int, ChunkRef, list[Write]]]
"""Chunk numbers in order, each with its chunk and what is written once it is there."""


class Plan(NamedTuple):
    directories: list[tuple[str, int, int]]
    """Path, mode and mtime of each directory, the root first, parents before children."""
    symlinks: list[tuple[str, str, int]]
    """Path, target and mtime of each symlink."""
    empty_files: list[WholeFile]
    """Files with no content: no chunk writes them."""
    writes: list[list[Write]]
    """By chunk number: what is written once that chunk is there (a whole file, once its last chunk is)."""
    held: bytearray
    """1 for a chunk a whole file written after it needs: its task keeps it, and no batch ends with it."""
    small_files: bytearray
    """1 for a chunk that holds small files: restoring it is mostly creating files, Python's work more
    than the kernel's or the codec's."""
    pieced: list[tuple[str, int, int]]
    """Path, mode and mtime of each file written in pieces: finished once all of them are written."""


def plan(manifest: Manifest, root: str, umask: int | None) -> Plan:
    count = len(manifest.chunks)
    made = Plan([], [], [], [[] for _ in range(count)], bytearray(count), bytearray(count), [])
    join = os.path.join
    for kind, relative, mode, mtime_ns, size, target, spans in entry_rows(manifest.entries):
        path = join(root, relative) if relative != ROOT else root
        if kind == DIRECTORY:
            made.directories.append((path, mode, mtime_ns))
        elif kind == SYMLINK:
            made.symlinks.append((path, target, mtime_ns))
        elif kind == FILE:
            chmod = umask is None or mode & 0o7000 != 0 or mode & umask != 0
            _plan_file(made, WholeFile(path, tuple(spans), mode, mtime_ns, chmod), size)
    return made


def _plan_file(made: Plan, whole: WholeFile, size: int) -> None:
    parts = whole.parts
    if size <= WHOLE_FILE_BYTES:
        for number, _, _ in parts:
            made.small_files[number] = 1
    if not parts:
        made.empty_files.append(whole)
    elif len(parts) == 1 or _written_whole(parts, size):
        last = parts[-1][0]
        made.writes[last].append(whole)
        for number in range(parts[0][0], last):
            made.held[number] = 1
    else:
        made.pieced.append((whole.path, whole.mode, whole.mtime_ns))
        file_offset = 0
        for number, offset, length in parts:
            made.writes[number].append(Piece(whole.path, file_offset, offset, length))
            file_offset += length


def _written_whole(parts: tuple[tuple[int, int, int], ...], size: int) -> bool:
    """Small enough, and its chunks follow one another: all of them are in one batch."""
    if size > WHOLE_FILE_BYTES or len(parts) > WHOLE_FILE_PARTS:
        return False
    return all(0 <= later[0] - earlier[0] <= 1 for earlier, later in itertools.pairwise(parts))


def lanes(chunks: ChunkTable, made: Plan, count: int) -> list[list[int]]:
    """The chunk numbers in lanes for `count` workers, which take batches from the lanes in turn.

    The chunks of small files make one lane; the others are cut in runs of about as many bytes each,
    one lane a worker left. A small file costs some system calls and a few microseconds of Python
    holding the GIL; a chunk of a large file is checked, decompressed and written without it. With
    both workers on small files, every system call handed the GIL from one to the other and back (a
    futex wake and a context switch each); with both on the same large file, its writes queued on the
    file's lock, the waiting worker spinning in the kernel. Each worker on its own kind and stretch of
    the workspace restored 1 GiB 10% to 33% faster; and once a lane is done its worker helps the others.
    """
    if count < 2:
        return [list(range(len(chunks)))]
    large = [number for number in range(len(chunks)) if not made.small_files[number]]
    small = [number for number in range(len(chunks)) if made.small_files[number]]
    return [lane for lane in [*_runs(chunks, large, made.held, count - 1), small] if lane]


def _runs(chunks: ChunkTable, numbers: list[int], held: bytearray, count: int) -> list[list[int]]:
    """`numbers` cut in `count` runs of about as many bytes each, none ending with a held chunk."""
    total = sum(chunks.size(number) for number in numbers)
    runs: list[list[int]] = [[]]
    done = 0
    for number in numbers:
        if done * count >= total * len(runs) and runs[-1] and not held[runs[-1][-1]]:
            runs.append([])
        runs[-1].append(number)
        done += chunks.size(number)
    return runs


def batches(chunks: ChunkTable, numbers: list[int], made: Plan) -> Iterator[Batch]:
    """A lane's chunks in batches (one task a chunk costs more in handing over between threads than a
    small chunk's work), each ending with a chunk no later write needs."""
    batch: Batch = []
    size = 0
    for number in numbers:
        batch.append((number, chunks[number], made.writes[number]))
        size += chunks.size(number)
        if (size >= BATCH_BYTES or len(batch) >= BATCH_CHUNKS) and not made.held[number]:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def in_turns(lanes: list[Iterator[Batch]]) -> Iterator[Batch]:
    """A batch of each lane in turn, until all are done."""
    while lanes:
        for lane in list(lanes):
            batch = next(lane, None)
            if batch is None:
                lanes.remove(lane)
            else:
                yield batch
