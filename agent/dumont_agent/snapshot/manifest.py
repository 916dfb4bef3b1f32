"""What a workspace snapshot is made of: its manifest and the chunks it names.

A manifest arrives from object storage when a machine wakes, so it is treated as untrusted data:
`Manifest.from_bytes` and `Manifest.check` refuse anything `restore` could not apply safely.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from dumont_agent.snapshot.collecting import collection_paused
from dumont_agent.snapshot.compression import COMPRESSIONS, Compression, compress_parts, decompress
from dumont_agent.snapshot.errors import SnapshotError

FORMAT_VERSION = 3
"""1: files cut in 8 MiB pieces, small files in tar bundles. 2: content-defined chunks (`cutting`).
3: as 2, and the manifest is stored in content-addressed pieces (`pieces`). All are read the same way:
a file is spans of chunks."""
READABLE_VERSIONS = frozenset({1, 2, FORMAT_VERSION})
FILE: Literal["file"] = "file"
DIRECTORY: Literal["dir"] = "dir"
SYMLINK: Literal["symlink"] = "symlink"
EntryKind = Literal["file", "dir", "symlink"]
ROOT = "."
"""The path of the workspace directory itself in a manifest: its mode and mtime are restored too."""
MAX_MANIFEST_BYTES = 1024 * 1024 * 1024
"""A manifest larger than this once decompressed is refused, not decompressed."""
MAX_CHUNK_BYTES = 64 * 1024 * 1024
"""Larger than any chunk `pack` makes; a manifest naming a larger one is refused before any download."""
_HEX_DIGITS = frozenset("0123456789abcdef")
_ENTRIES_AT_ONCE = 1000


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


@dataclass
class Manifest:
    version: int
    created_at: str
    """ISO 8601, UTC, to the second (`2025-03-01T12:00:00Z`)."""
    entries: list[Entry]
    """In the order `pack` walked them: every directory comes before what it contains."""
    chunks: list[ChunkRef]
    """Each chunk once, in the order the entries first use them."""
    total_bytes: int
    file_count: int
    compression: Compression = "lz4"
    """How its chunks were compressed (each frame also says so itself); version 1 knew only lz4."""

    @property
    def digests(self) -> list[str]:
        return [chunk.digest for chunk in self.chunks]

    @property
    def stored_sizes(self) -> dict[str, int]:
        """Digest to stored size: what `pack(..., known_sizes=...)` takes to skip compressing them again."""
        return {chunk.digest: chunk.stored_size for chunk in self.chunks}

    def to_bytes(self) -> bytes:
        document = {
            "version": self.version,
            "created_at": self.created_at,
            "total_bytes": self.total_bytes,
            "file_count": self.file_count,
            "compression": self.compression,
            "chunks": [[chunk.digest, chunk.size, chunk.stored_size] for chunk in self.chunks],
        }
        # The whole manifest in one Zstandard frame: the agent's own copy of its last snapshot, and how
        # versions 1 and 2 were stored (version 3 stores it in pieces: `pieces.split_manifest`). The
        # entries are written and compressed a thousand at a time: a workspace of hundreds of thousands of
        # files would otherwise hold its whole JSON text, and a document for every entry, at once.
        return compress_parts(self._json_parts(document))

    def _json_parts(self, document: dict[str, Any]) -> Iterator[bytes]:
        yield json_bytes(document)[:-1] + b',"entries":['
        for start in range(0, len(self.entries), _ENTRIES_AT_ONCE):
            batch = [_entry_document(entry) for entry in self.entries[start : start + _ENTRIES_AT_ONCE]]
            yield (b"," if start else b"") + json_bytes(batch)[1:-1]
        yield b"]}"

    @classmethod
    def from_bytes(cls, data: bytes, fetch: Callable[[str], bytes] | None = None) -> Manifest:
        """The manifest `to_bytes` or `pieces.split` wrote; `fetch(digest)` gets the frame of a piece, for a
        manifest stored in pieces. SnapshotError when it is not one `restore` can apply safely."""
        try:
            text = decompress(data, MAX_MANIFEST_BYTES)
        except Exception as error:  # each codec has errors of its own
            raise SnapshotError(f"manifest refused: not a readable compressed frame ({error})") from error
        try:
            document = json.loads(text)
        except ValueError as error:
            raise SnapshotError(f"manifest refused: not JSON ({error})") from error
        try:
            with collection_paused():
                if isinstance(document, dict) and "pieces" in document:
                    manifest = _joined(document, fetch)
                else:
                    manifest = _manifest_from_document(document)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise SnapshotError(f"manifest refused: malformed ({error!r})") from error
        manifest.check()
        return manifest

    def check(self) -> None:
        """Raise SnapshotError unless `restore` can apply this manifest inside its target and nowhere else."""
        if self.version not in READABLE_VERSIONS:
            raise SnapshotError(
                f"manifest refused: format version {self.version}, this agent reads versions "
                f"{sorted(READABLE_VERSIONS)}; update the agent"
            )
        _check_chunks(self.chunks)
        _check_entries(self.entries, self.chunks)
        files = [entry for entry in self.entries if entry.kind == FILE]
        if self.file_count != len(files) or self.total_bytes != sum(entry.size for entry in files):
            raise SnapshotError(
                "manifest refused: its file count or total bytes do not match its entries; it is damaged"
            )


def new_manifest(entries: list[Entry], chunks: list[ChunkRef], compression: Compression = "lz4") -> Manifest:
    files = [entry for entry in entries if entry.kind == FILE]
    return Manifest(
        version=FORMAT_VERSION,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        entries=entries,
        chunks=chunks,
        total_bytes=sum(entry.size for entry in files),
        file_count=len(files),
        compression=compression,
    )


def _joined(document: dict[str, Any], fetch: Callable[[str], bytes] | None) -> Manifest:
    """A manifest stored in pieces, its pieces fetched."""
    from dumont_agent.snapshot import pieces  # it builds on this module

    if fetch is None:
        raise SnapshotError("manifest refused: it is stored in pieces, and nothing was given to fetch them")
    version = _typed(document["version"], int, "version")
    if version < pieces.FIRST_VERSION:
        raise ValueError(f"version {version} manifests are not stored in pieces")
    entries, chunks = pieces.joined(document, fetch)
    return Manifest(
        version=version,
        created_at=_typed(document["created_at"], str, "created_at"),
        entries=entries,
        chunks=chunks,
        total_bytes=_typed(document["total_bytes"], int, "total_bytes"),
        file_count=_typed(document["file_count"], int, "file_count"),
        compression=_compression(document["compression"]),
    )


def json_bytes(value: object) -> bytes:
    # ASCII escapes keep names that are not valid UTF-8 (surrogate escapes) exact and the JSON valid.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _entry_document(entry: Entry) -> dict[str, Any]:
    document: dict[str, Any] = {
        "path": entry.path,
        "type": entry.kind,
        "mode": entry.mode,
        "mtime_ns": entry.mtime_ns,
    }
    if entry.kind == FILE:
        document["size"] = entry.size
        document["spans"] = [list(span) for span in entry.spans]
    elif entry.kind == SYMLINK:
        document["target"] = entry.target
    return document


def _typed(value: object, kind: type[Any], what: str) -> Any:
    # bool is an int to Python, never to this format.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{what} must be {kind.__name__}, not {type(value).__name__}")
    return value


def _manifest_from_document(parsed: object) -> Manifest:
    document: dict[str, Any] = _typed(parsed, dict, "the manifest")
    chunks = [
        ChunkRef(
            digest=_typed(digest, str, "a chunk digest"),
            size=_typed(size, int, "a chunk size"),
            stored_size=_typed(stored_size, int, "a chunk's stored size"),
        )
        for digest, size, stored_size in _typed(document["chunks"], list, "chunks")
    ]
    return Manifest(
        version=_typed(document["version"], int, "version"),
        created_at=_typed(document["created_at"], str, "created_at"),
        entries=[_entry_from_document(item) for item in _typed(document["entries"], list, "entries")],
        chunks=chunks,
        total_bytes=_typed(document["total_bytes"], int, "total_bytes"),
        file_count=_typed(document["file_count"], int, "file_count"),
        compression=_compression(document.get("compression", "lz4")),
    )


def _compression(value: object) -> Compression:
    for compression in COMPRESSIONS:
        if value == compression:
            return compression
    raise ValueError(f"unknown compression {value!r}")


def _entry_from_document(item: Any) -> Entry:
    # Runs once per file of the workspace: the checks are inline, `type(x) is int` also refuses bools.
    path, kind, mode, mtime_ns = item["path"], item["type"], item["mode"], item["mtime_ns"]
    if type(path) is not str or type(mode) is not int or type(mtime_ns) is not int:
        raise TypeError(f"an entry needs a string path and integer mode and mtime_ns: {item!r:.200}")
    if kind == FILE:
        size = item["size"]
        if type(size) is not int:
            raise TypeError(f"the size of {path!r} is not an integer")
        return Entry(path, FILE, mode, mtime_ns, size=size, spans=tuple(map(_span, item["spans"])))
    if kind == DIRECTORY:
        return Entry(path, DIRECTORY, mode, mtime_ns)
    if kind == SYMLINK:
        return Entry(path, SYMLINK, mode, mtime_ns, target=_typed(item["target"], str, "a symlink's target"))
    raise ValueError(f"unknown entry type {kind!r} at {path!r}")


def _span(item: Any) -> Span:
    chunk, offset, length = item
    if type(chunk) is not int or type(offset) is not int or type(length) is not int:
        raise TypeError(f"a span must be three integers, not {item!r:.100}")
    return Span(chunk, offset, length)


def _check_chunks(chunks: Sequence[ChunkRef]) -> None:
    seen: set[str] = set()
    for chunk in chunks:
        if len(chunk.digest) != 64 or not _HEX_DIGITS.issuperset(chunk.digest):
            raise SnapshotError(f"manifest refused: {chunk.digest!r} is not a SHA-256 hex digest")
        if chunk.digest in seen:
            raise SnapshotError(f"manifest refused: chunk {chunk.digest} is listed twice")
        seen.add(chunk.digest)
        if not 0 < chunk.size <= MAX_CHUNK_BYTES or chunk.stored_size < 0:
            raise SnapshotError(f"manifest refused: chunk {chunk.digest} has an impossible size {chunk.size}")


def _check_path(path: str) -> None:
    """SnapshotError unless `path` is relative and plain: nothing it names can be outside its root."""
    parts = path.split("/")
    if "" in parts or "." in parts or ".." in parts or "\x00" in path:
        raise SnapshotError(
            f"manifest refused: the path {path!r} is not a plain relative path inside the workspace "
            "(absolute paths, '..', '.' and empty components are not allowed); the manifest is damaged "
            "or was not made by pack"
        )


def _check_entries(entries: Sequence[Entry], chunks: Sequence[ChunkRef]) -> None:
    if not entries or entries[0].path != ROOT or entries[0].kind != DIRECTORY:
        raise SnapshotError("manifest refused: its first entry must be the workspace directory itself ('.')")
    directories = {ROOT}
    seen = {ROOT}
    for entry in entries[1:]:
        _check_path(entry.path)
        parent = entry.path.rpartition("/")[0] or ROOT
        # Parents must be directories listed earlier: nothing can be written through a symlink or a file.
        if parent not in directories:
            raise SnapshotError(
                f"manifest refused: {entry.path!r} comes before its directory, or its parent is not a "
                "directory of the snapshot"
            )
        if entry.path in seen:
            raise SnapshotError(f"manifest refused: {entry.path!r} is listed twice")
        seen.add(entry.path)
        if not 0 <= entry.mode <= 0o7777:
            raise SnapshotError(f"manifest refused: {entry.path!r} has an impossible mode {entry.mode:o}")
        if entry.kind == DIRECTORY:
            directories.add(entry.path)
        elif entry.kind == SYMLINK:
            if not entry.target or "\x00" in entry.target:
                raise SnapshotError(f"manifest refused: the symlink {entry.path!r} has no usable target")
        elif entry.kind == FILE:
            _check_spans(entry, chunks)
        else:
            raise SnapshotError(f"manifest refused: {entry.path!r} is of unknown type {entry.kind!r}")


def _check_spans(entry: Entry, chunks: Sequence[ChunkRef]) -> None:
    covered = 0
    for span in entry.spans:
        if not 0 <= span.chunk < len(chunks):
            raise SnapshotError(f"manifest refused: {entry.path!r} names chunk {span.chunk}, not listed")
        if span.offset < 0 or span.length <= 0 or span.offset + span.length > chunks[span.chunk].size:
            raise SnapshotError(f"manifest refused: {entry.path!r} has a span outside its chunk")
        covered += span.length
    if covered != entry.size:
        raise SnapshotError(
            f"manifest refused: the spans of {entry.path!r} hold {covered} bytes, its size is {entry.size}"
        )
