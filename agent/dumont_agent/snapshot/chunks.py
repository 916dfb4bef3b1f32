"""Chunks as they are stored: one compressed frame (`compression`) named by the SHA-256 of its content.

`ChunkStore` names and stages the chunks `pack` cuts, each distinct content once, and writes no frame
that is already stored. Each worker appends its frames to a segment file of its own in the staging
directory, and `StagedFrame` says where each frame is: a file per chunk cost the kernel an inode, a
directory entry and a rename for every one of some 10,000 chunks a GiB, as much CPU as compressing.
`open_frame` is its inverse for `restore`: the content of a frame, checked to be exactly what its
digest names.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import tempfile
import threading
from array import array
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import NamedTuple

from dumont_agent.snapshot.compression import Compression, compress, content_size, decompress
from dumont_agent.snapshot.errors import CorruptChunk
from dumont_agent.snapshot.items import ChunkRef
from dumont_agent.snapshot.tables import ChunkTable, Digests

SEGMENT_PREFIX = "frames-"


class StagedFrame(NamedTuple):
    """Where a staged frame is: `length` bytes at `offset` in the segment file `path`."""

    path: str
    offset: int
    length: int

    def read(self) -> bytes:
        descriptor = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = os.pread(descriptor, self.length, self.offset)
        finally:
            os.close(descriptor)
        if len(data) != self.length:
            raise OSError(f"{self.path} holds less than the frame staged at {self.offset:,}")
        return data


class _Segment:
    """One worker's segment file: frames appended one after the other."""

    def __init__(self, staging: Path, number: int) -> None:
        self.descriptor, self.path = tempfile.mkstemp(prefix=SEGMENT_PREFIX, dir=staging)
        self.number = number
        self.size = 0

    def append_all(self, frames: list[bytes]) -> int:
        """Where in the file the first frame now is; the others follow it."""
        offset = self.size
        _write_frames(self.descriptor, frames)
        self.size += sum(map(len, frames))
        return offset


def _write_frames(descriptor: int, frames: list[bytes]) -> None:
    """All of `frames`, one after the other: one system call, unless the kernel takes less."""
    written = os.writev(descriptor, frames)
    for frame in frames:
        if written >= len(frame):
            written -= len(frame)
            continue
        with memoryview(frame) as view:
            view = view[written:]
            while view:
                view = view[os.write(descriptor, view) :]
        written = 0


ChunkListener = Callable[[ChunkRef, "StagedFrame | None"], None]
"""Told of each distinct chunk as soon as it is known: its reference, and where its frame is staged (None
for a chunk in `known`). Called from the worker threads."""

_NOT_STAGED = -1


class ChunkStore:
    """Hashes chunks and appends the frames of those not stored yet; called from the worker threads.

    Each distinct chunk has a slot, numbered as they come, and what is known of it is kept in arrays by
    slot (a `ChunkTable` of its raw digest and sizes, indexed; where its frame is): a workspace of 10 GiB
    has some 250,000 chunks, and objects and hex strings for each cost several hundred bytes a chunk, more
    than the packing itself holds. `add_to` and `staged_frames` hand what a manifest needs on, and the
    store can go.
    """

    def __init__(
        self,
        staging: Path,
        known: Collection[str],
        known_sizes: Mapping[str, int],
        compression: Compression = "lz4",
        listener: ChunkListener | None = None,
    ) -> None:
        self.staging = staging
        self.listener = listener
        self.compression: Compression = compression
        # A previous manifest's digests look one up as a set would: no set of them all is made.
        self.known = known if isinstance(known, (AbstractSet, Mapping, Digests)) else frozenset(known)
        self.known_sizes = known_sizes
        self._slots = ChunkTable()
        self._segment_numbers = array("i")
        self._offsets = array("q")
        self._written = array("i")
        self._segments: list[_Segment] = []
        self._segment_of_thread = threading.local()
        self._lock = threading.Lock()

    def put(self, data: bytes | memoryview) -> int:
        """The chunk's slot, its frame staged unless it is known or was put before."""
        return self.put_all([data])[0]

    def put_all(self, chunks: Sequence[bytes | memoryview]) -> list[int]:
        """The slot of each chunk, their frames staged unless known or put before: a batch of small
        chunks takes the lock twice and is written at once, where each on its own cost a system call and
        more time holding the GIL than its hashing and compressing."""
        raws = [hashlib.sha256(data).digest() for data in chunks]
        slots = []
        new: list[tuple[int, bytes, bytes | memoryview]] = []
        with self._lock:
            for raw, data in zip(raws, chunks, strict=True):
                # The same content twice in one workspace (copies, zero-filled pieces) is handled once.
                slot = self._slots.find(raw)
                if slot < 0:
                    slot = self._slots.add(raw, len(data), 0)
                    self._segment_numbers.append(_NOT_STAGED)
                    self._offsets.append(0)
                    new.append((slot, raw, data))
                slots.append(slot)
        staged: list[tuple[int, str, int, bytes]] = []
        for slot, raw, data in new:
            digest = raw.hex()
            if digest in self.known:
                self._known(slot, digest, data)
            else:
                staged.append((slot, digest, len(data), compress(data, self.compression)))
        if staged:
            self._stage(staged)
        return slots

    def _known(self, slot: int, digest: str, data: bytes | memoryview) -> None:
        stored_size = self.known_sizes.get(digest)
        if stored_size is None:
            stored_size = len(compress(data, self.compression))
        with self._lock:
            self._slots.set_stored_size(slot, stored_size)
        if self.listener is not None:
            self.listener(ChunkRef(digest, len(data), stored_size), None)

    def _stage(self, frames: list[tuple[int, str, int, bytes]]) -> None:
        """Append the frames (slot, digest, size, frame) to this thread's segment, at once."""
        segment = self._segment()
        first = segment.append_all([frame for *_, frame in frames])
        offsets = list(itertools.accumulate((len(frame) for *_, frame in frames[:-1]), initial=first))
        with self._lock:
            for (slot, _, _, frame), offset in zip(frames, offsets, strict=True):
                self._slots.set_stored_size(slot, len(frame))
                self._segment_numbers[slot] = segment.number
                self._offsets[slot] = offset
                self._written.append(slot)
        if self.listener is not None:
            for (_, digest, size, frame), offset in zip(frames, offsets, strict=True):
                staged = StagedFrame(segment.path, offset, len(frame))
                self.listener(ChunkRef(digest, size, len(frame)), staged)

    @property
    def slot_count(self) -> int:
        return len(self._slots)

    def add_to(self, table: ChunkTable, slot: int) -> int:
        """Add the chunk of `slot` to `table`: its number there."""
        slots = self._slots
        return table.add(slots.raw(slot), slots.size(slot), slots.stored_size(slot))

    def staged_frames(self, chunks: ChunkTable, chunk_of_slot: Sequence[int]) -> StagedFrames:
        """Where the frames staged here are, for the chunks of `chunks`, numbered there as
        `chunk_of_slot` says."""
        segment_of_chunk = array("i", [_NOT_STAGED]) * len(chunks)
        offset_of_chunk = array("q", [0]) * len(chunks)
        for slot in self._written:
            chunk = chunk_of_slot[slot]
            segment_of_chunk[chunk] = self._segment_numbers[slot]
            offset_of_chunk[chunk] = self._offsets[slot]
        written = array("i", sorted(chunk_of_slot[slot] for slot in self._written))
        paths = [segment.path for segment in self._segments]
        return StagedFrames(chunks, paths, segment_of_chunk, offset_of_chunk, written)

    def close(self) -> None:
        """Close the segment files; what they hold stays."""
        for segment in self._segments:
            with contextlib.suppress(OSError):
                os.close(segment.descriptor)

    def remove_created(self) -> None:
        self.close()
        for segment in self._segments:
            with contextlib.suppress(FileNotFoundError):
                Path(segment.path).unlink()

    def _segment(self) -> _Segment:
        segment: _Segment | None = getattr(self._segment_of_thread, "segment", None)
        if segment is None:
            with self._lock:
                segment = _Segment(self.staging, len(self._segments))
                self._segments.append(segment)
            self._segment_of_thread.segment = segment
        return segment


class StagedFrames(Mapping[str, StagedFrame]):
    """The frames a pack staged, by digest, in the manifest's order: where each is, in arrays by chunk
    number, so no object is kept per chunk."""

    def __init__(
        self,
        chunks: ChunkTable,
        segment_paths: list[str],
        segment_of_chunk: array[int],
        offset_of_chunk: array[int],
        written: array[int],
    ) -> None:
        self.chunks = chunks
        """The manifest's chunks, whose numbers these are."""
        self._segment_paths = segment_paths
        self._segment_of_chunk = segment_of_chunk
        self._offset_of_chunk = offset_of_chunk
        self.written = written
        """The numbers of the chunks staged, in order."""

    def __getitem__(self, digest: str) -> StagedFrame:
        chunk = self.chunks.number_of(digest) if isinstance(digest, str) else -1
        if chunk < 0 or self._segment_of_chunk[chunk] == _NOT_STAGED:
            raise KeyError(digest)
        path = self._segment_paths[self._segment_of_chunk[chunk]]
        return StagedFrame(path, self._offset_of_chunk[chunk], self.chunks.stored_size(chunk))

    def __iter__(self) -> Iterator[str]:
        return (self.chunks.digest(chunk) for chunk in self.written)

    def __len__(self) -> int:
        return len(self.written)


def open_frame(chunk: ChunkRef, frame: bytes) -> bytes:
    """The chunk's content, after checking it is exactly what its digest names."""
    try:
        # The declared size is checked first: a damaged frame must not make us allocate gigabytes.
        declared = content_size(frame)
        if declared != chunk.size:
            raise CorruptChunk(
                chunk.digest, f"its frame holds {declared} bytes, the manifest says {chunk.size}"
            )
        data = decompress(frame, chunk.size)
    except CorruptChunk:
        raise
    except Exception as error:  # each codec has errors of its own
        raise CorruptChunk(chunk.digest, f"not a valid LZ4 or Zstandard frame: {error}") from error
    if len(data) != chunk.size:
        raise CorruptChunk(chunk.digest, f"it holds {len(data)} bytes, the manifest says {chunk.size}")
    if hashlib.sha256(data).hexdigest() != chunk.digest:
        raise CorruptChunk(chunk.digest, "its content does not match its digest")
    return data
