"""Chunks as they are stored: one compressed frame (`compression`) named by the SHA-256 of its content.

`ChunkStore` names and stages the chunks `pack` cuts, each distinct content once, and writes no frame
that is already stored. `open_frame` is its inverse for `restore`: the content of a frame, checked to be
exactly what its digest names.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Collection, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path

from dumont_agent.snapshot.compression import Compression, compress, content_size, decompress
from dumont_agent.snapshot.errors import CorruptChunk
from dumont_agent.snapshot.manifest import ChunkRef


class ChunkStore:
    """Hashes chunks and writes the frames of those not stored yet; called from the worker threads."""

    def __init__(
        self,
        staging: Path,
        known: Collection[str],
        known_sizes: Mapping[str, int],
        compression: Compression = "lz4",
    ) -> None:
        self.staging = staging
        self.compression: Compression = compression
        self.known = known if isinstance(known, (AbstractSet, Mapping)) else frozenset(known)
        self.known_sizes = known_sizes
        self.refs: dict[str, ChunkRef] = {}
        self.written: list[ChunkRef] = []
        self.created: list[Path] = []
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
            return digest
        frame = compress(data, self.compression)
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
