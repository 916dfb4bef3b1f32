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
import os
import tempfile
import threading
from collections.abc import Callable, Collection, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import NamedTuple

from dumont_agent.snapshot.compression import Compression, compress, content_size, decompress
from dumont_agent.snapshot.errors import CorruptChunk
from dumont_agent.snapshot.manifest import ChunkRef

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

    def __init__(self, staging: Path) -> None:
        self.descriptor, self.path = tempfile.mkstemp(prefix=SEGMENT_PREFIX, dir=staging)
        self.size = 0

    def append(self, frame: bytes) -> StagedFrame:
        offset = self.size
        _write_all(self.descriptor, frame)
        self.size += len(frame)
        return StagedFrame(self.path, offset, len(frame))


def _write_all(descriptor: int, data: bytes) -> None:
    with memoryview(data) as view:
        while view:
            view = view[os.write(descriptor, view) :]


ChunkListener = Callable[[ChunkRef, "StagedFrame | None"], None]
"""Told of each distinct chunk as soon as it is known: its reference, and where its frame is staged (None
for a chunk in `known`). Called from the worker threads."""


class ChunkStore:
    """Hashes chunks and appends the frames of those not stored yet; called from the worker threads."""

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
        self.known = known if isinstance(known, (AbstractSet, Mapping)) else frozenset(known)
        self.known_sizes = known_sizes
        self.refs: dict[str, ChunkRef] = {}
        self.written: list[ChunkRef] = []
        self.staged: dict[str, StagedFrame] = {}
        self._segments: list[_Segment] = []
        self._segment_of_thread = threading.local()
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    def put(self, data: bytes | memoryview) -> str:
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            # The same content twice in one workspace (copies, zero-filled pieces) is handled once.
            if digest in self._claimed:
                return digest
            self._claimed.add(digest)
        if digest in self.known:
            stored_size = self.known_sizes.get(digest)
            if stored_size is None:
                stored_size = len(compress(data, self.compression))
            ref = ChunkRef(digest, len(data), stored_size)
            with self._lock:
                self.refs[digest] = ref
            if self.listener is not None:
                self.listener(ref, None)
            return digest
        frame = compress(data, self.compression)
        ref = ChunkRef(digest, len(data), len(frame))
        staged = self._segment().append(frame)
        with self._lock:
            self.refs[digest] = ref
            self.written.append(ref)
            self.staged[digest] = staged
        if self.listener is not None:
            self.listener(ref, staged)
        return digest

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
            segment = self._segment_of_thread.segment = _Segment(self.staging)
            with self._lock:
                self._segments.append(segment)
        return segment


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
