"""The items a manifest is made of: its entries (files, directories, symlinks) and the chunks their
content is in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

FILE: Literal["file"] = "file"
DIRECTORY: Literal["dir"] = "dir"
SYMLINK: Literal["symlink"] = "symlink"
EntryKind = Literal["file", "dir", "symlink"]
MAX_CHUNK_BYTES = 64 * 1024 * 1024
"""Larger than any chunk `pack` makes; a manifest naming a larger one is refused before any download."""


@dataclass(frozen=True, slots=True)
class ChunkRef:
    digest: str
    """SHA-256 (hex) of the chunk's uncompressed bytes: its name in storage."""
    size: int
    """Uncompressed bytes."""
    stored_size: int
    """Bytes of its frame, as stored."""


class Span(NamedTuple):
    """A run of a file's content, `length` bytes at `offset` in the manifest's chunk number `chunk`."""

    chunk: int
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class Entry:
    path: str
    """Relative to the workspace, POSIX separators; `"."` is the workspace directory itself."""
    kind: EntryKind
    mode: int
    """Permission bits, including setuid, setgid and sticky (`st_mode & 0o7777`)."""
    mtime_ns: int
    size: int = 0
    """Bytes of a file's content; 0 for directories and symlinks."""
    target: str = ""
    """What a symlink points to, exactly as stored; never followed."""
    spans: tuple[Span, ...] = ()
    """A file's content in order; empty for an empty file."""
