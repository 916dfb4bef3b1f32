"""Chunks a restore need not download: those of the snapshot the workspace already holds.

A machine that restored or took a snapshot remembers its manifest; as long as the workspace has not
changed since, the manifest says where in its files every chunk's bytes are. A restore of a newer
snapshot (a standby catching up with the latest checkpoint) reads those chunks from the disk and
downloads only the others. A chunk read back is checked against its digest like a downloaded one; one
that no longer matches (the file changed) is downloaded instead.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import NamedTuple

from dumont_agent.snapshot import Manifest
from dumont_agent.snapshot.compression import compress
from dumont_agent.snapshot.manifest import FILE

logger = logging.getLogger("dumont_agent")


class _Piece(NamedTuple):
    path: Path
    file_offset: int
    chunk_offset: int
    length: int


class LocalChunks:
    """The chunks of `held` (the manifest the workspace was last restored from or snapshotted to), read
    back from the files of `workspace`."""

    def __init__(self, held: Manifest | None, workspace: Path) -> None:
        self._sizes: dict[str, int] = {}
        self._pieces: dict[str, list[_Piece]] = {}
        self._lock = threading.Lock()
        self.reused_bytes = 0
        if held is None:
            return
        for entry in held.entries:
            if entry.kind != FILE:
                continue
            file_offset = 0
            for span in entry.spans:
                chunk = held.chunks[span.chunk]
                self._sizes[chunk.digest] = chunk.size
                self._pieces.setdefault(chunk.digest, []).append(
                    _Piece(workspace / entry.path, file_offset, span.offset, span.length)
                )
                file_offset += span.length

    def frame(self, digest: str) -> bytes | None:
        """The chunk as a frame `restore` opens, from the workspace's files; None when it is not there
        or no longer what its digest names."""
        pieces = self._pieces.get(digest)
        if not pieces:
            return None
        content = bytearray(self._sizes[digest])
        try:
            for piece in pieces:
                with piece.path.open("rb") as file:
                    file.seek(piece.file_offset)
                    data = file.read(piece.length)
                if len(data) != piece.length:
                    return None
                content[piece.chunk_offset : piece.chunk_offset + piece.length] = data
        except OSError:
            return None
        if hashlib.sha256(content).hexdigest() != digest:
            return None
        with self._lock:
            self.reused_bytes += len(content)
        return compress(content, "lz4")
