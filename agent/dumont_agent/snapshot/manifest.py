"""What a workspace snapshot is made of: its manifest and the chunks it names.

A manifest arrives from object storage when a machine wakes, so it is treated as untrusted data:
`Manifest.from_bytes` and `Manifest.check` refuse anything `restore` could not apply safely.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import astuple, dataclass
from typing import Any

from dumont_agent.snapshot.collecting import collection_paused
from dumont_agent.snapshot.compression import COMPRESSIONS, Compression, compress_parts, decompressed_parts
from dumont_agent.snapshot.errors import SnapshotError
from dumont_agent.snapshot.items import (
    DIRECTORY,
    FILE,
    MAX_CHUNK_BYTES,
    SYMLINK,
    ChunkRef,
    Entry,
    EntryKind,
    Span,
)
from dumont_agent.snapshot.lines import LINES_AT_ONCE, add_entry, entry_lines, json_bytes, values
from dumont_agent.snapshot.tables import ChunkTable, EntryTable, entry_rows

__all__ = [
    "DIRECTORY",
    "FILE",
    "MAX_CHUNK_BYTES",
    "ROOT",
    "SYMLINK",
    "ChunkRef",
    "ChunkTable",
    "Entry",
    "EntryKind",
    "EntryTable",
    "Manifest",
    "Span",
    "new_manifest",
]

FORMAT_VERSION = 3
"""1: files cut in 8 MiB pieces, small files in tar bundles. 2: content-defined chunks (`cutting`).
3: as 2, and the manifest is stored in content-addressed pieces (`pieces`). All are read the same way:
a file is spans of chunks."""
READABLE_VERSIONS = frozenset({1, 2, FORMAT_VERSION})
ROOT = "."
"""The path of the workspace directory itself in a manifest: its mode and mtime are restored too."""
MAX_MANIFEST_BYTES = 1024 * 1024 * 1024
"""A manifest larger than this once decompressed is refused, not decompressed."""
LINES_LAYOUT = "lines"
"""The header of a manifest written as lines says so."""


@dataclass
class Manifest:
    version: int
    created_at: str
    """ISO 8601, UTC, to the second (`2025-03-01T12:00:00Z`)."""
    entries: Sequence[Entry]
    """In the order `pack` walked them: every directory comes before what it contains. An `EntryTable`
    when packed or read; any sequence will do."""
    chunks: Sequence[ChunkRef]
    """Each chunk once, in the order the entries first use them. A `ChunkTable` when packed or read."""
    total_bytes: int
    file_count: int
    compression: Compression = "lz4"
    """How its chunks were compressed (each frame also says so itself); version 1 knew only lz4."""

    @property
    def digests(self) -> Sequence[str]:
        """The chunks' digests in order; `in` is a lookup, not a search."""
        return self.chunk_table.digests

    @property
    def stored_sizes(self) -> Mapping[str, int]:
        """Digest to stored size: what `pack(..., known_sizes=...)` takes to skip compressing them again."""
        return self.chunk_table.stored_sizes

    @property
    def chunk_table(self) -> ChunkTable:
        """The chunks as a table, looked up by digest (chunks given as a list are made one, once)."""
        if not isinstance(self.chunks, ChunkTable):
            self.chunks = ChunkTable(self.chunks)
        return self.chunks

    def to_bytes(self) -> bytes:
        """The manifest in one Zstandard frame, as lines (`lines`): a header, its chunks, its entries. The
        agent's own copy of its last snapshot (version 3 is stored in pieces: `pieces.split_manifest`);
        written a thousand lines at a time, and read a line at a time."""
        header = {
            "version": self.version,
            "created_at": self.created_at,
            "total_bytes": self.total_bytes,
            "file_count": self.file_count,
            "compression": self.compression,
            "layout": LINES_LAYOUT,
        }
        return compress_parts(self._lines(header))

    def _lines(self, header: dict[str, Any]) -> Iterator[bytes]:
        yield json_bytes(header) + b"\n"
        for start in range(0, len(self.chunks), LINES_AT_ONCE):
            chunks = self.chunks[start : start + LINES_AT_ONCE]
            yield b"".join(json_bytes(["c", *astuple(chunk)]) + b"\n" for chunk in chunks)
        yield from entry_lines(self.entries, _numbered_span)

    @classmethod
    def from_bytes(cls, data: bytes, fetch: Callable[[str], bytes] | None = None) -> Manifest:
        """The manifest `to_bytes` or `pieces.split` wrote; `fetch(digest)` gets the frame of a piece, for a
        manifest stored in pieces. SnapshotError when it is not one `restore` can apply safely."""
        lines = values(decompressed_parts(data, MAX_MANIFEST_BYTES))
        try:
            document = next(lines)
        except StopIteration:
            raise SnapshotError("manifest refused: it is empty") from None
        except Exception as error:  # each codec has errors of its own
            raise SnapshotError(f"manifest refused: not a readable frame of JSON lines ({error})") from error
        try:
            with collection_paused():
                if isinstance(document, dict) and document.get("layout") == LINES_LAYOUT:
                    manifest = _manifest_from_lines(document, lines)
                elif isinstance(document, dict) and "pieces" in document:
                    manifest = _joined(document, fetch)
                else:  # versions 1 and 2 were one document, on one line
                    if next(lines, None) is not None:
                        raise ValueError("a manifest document followed by more")
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
        if not isinstance(self.chunks, ChunkTable):  # a table checks each chunk as it is added
            ChunkTable(self.chunks)
        _check_entries(self.entries, self.chunks)
        file_count, total_bytes = _file_totals(self.entries)
        if self.file_count != file_count or self.total_bytes != total_bytes:
            raise SnapshotError(
                "manifest refused: its file count or total bytes do not match its entries; it is damaged"
            )


def new_manifest(
    entries: Sequence[Entry], chunks: Sequence[ChunkRef], compression: Compression = "lz4"
) -> Manifest:
    file_count, total_bytes = _file_totals(entries)
    return Manifest(
        version=FORMAT_VERSION,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        entries=entries,
        chunks=chunks,
        total_bytes=total_bytes,
        file_count=file_count,
        compression=compression,
    )


def _file_totals(entries: Sequence[Entry]) -> tuple[int, int]:
    """How many files, and their bytes."""
    if isinstance(entries, EntryTable):
        return entries.file_totals()
    sizes = [entry.size for entry in entries if entry.kind == FILE]
    return len(sizes), sum(sizes)


def _joined(document: dict[str, Any], fetch: Callable[[str], bytes] | None) -> Manifest:
    """A manifest stored in pieces, its pieces fetched."""
    from dumont_agent.snapshot import pieces  # it builds on this module

    if fetch is None:
        raise SnapshotError("manifest refused: it is stored in pieces, and nothing was given to fetch them")
    version = _typed(document["version"], int, "version")
    if version < pieces.FIRST_VERSION:
        raise ValueError(f"version {version} manifests are not stored in pieces")
    entries, chunks = pieces.joined(document, fetch)
    return _manifest_of(document, entries, chunks)


def _manifest_of(header: dict[str, Any], entries: EntryTable, chunks: ChunkTable) -> Manifest:
    """A manifest of `entries` and `chunks`, with the version, dates and totals `header` says (a
    manifest document or the header of one written as lines)."""
    return Manifest(
        version=_typed(header["version"], int, "version"),
        created_at=_typed(header["created_at"], str, "created_at"),
        entries=entries,
        chunks=chunks,
        total_bytes=_typed(header["total_bytes"], int, "total_bytes"),
        file_count=_typed(header["file_count"], int, "file_count"),
        compression=_compression(header.get("compression", "lz4")),  # version 1 knew only lz4
    )


def _numbered_span(chunk: int, offset: int, length: int) -> str:
    return f"[{chunk},{offset},{length}]"


def _manifest_from_lines(header: dict[str, Any], lines: Iterator[Any]) -> Manifest:
    """A manifest `to_bytes` wrote, its header read: chunk lines, then entry lines (each parsed)."""
    chunks = ChunkTable()
    entries = EntryTable()
    for line in lines:
        if type(line) is list and line and line[0] == "c":
            if len(line) != 4 or entries:
                raise ValueError(f"a misplaced or malformed chunk line: {line!r:.200}")
            chunks.append(_chunk(line[1:]))
        else:
            add_entry(entries, line, _span)
    return _manifest_of(header, entries, chunks)


def _typed(value: object, kind: type[Any], what: str) -> Any:
    # bool is an int to Python, never to this format.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{what} must be {kind.__name__}, not {type(value).__name__}")
    return value


def _manifest_from_document(parsed: object) -> Manifest:
    document: dict[str, Any] = _typed(parsed, dict, "the manifest")
    chunks = ChunkTable()
    for item in _typed(document["chunks"], list, "chunks"):
        chunks.append(_chunk(item))
    entries = EntryTable()
    for item in _typed(document["entries"], list, "entries"):
        entries.append(_entry_from_document(item))
    return _manifest_of(document, entries, chunks)


def _chunk(item: Any) -> ChunkRef:
    digest, size, stored_size = item
    return ChunkRef(
        digest=_typed(digest, str, "a chunk digest"),
        size=_typed(size, int, "a chunk size"),
        stored_size=_typed(stored_size, int, "a chunk's stored size"),
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
    rows = entry_rows(entries)
    first = next(rows, None)
    if first is None or first[1] != ROOT or first[0] != DIRECTORY:
        raise SnapshotError("manifest refused: its first entry must be the workspace directory itself ('.')")
    directories = {ROOT}
    seen = {ROOT}
    chunk_count = len(chunks)
    size_of = chunks.size if isinstance(chunks, ChunkTable) else (lambda number: chunks[number].size)
    for kind, path, mode, _, size, target, spans in rows:
        _check_path(path)
        parent = path.rpartition("/")[0] or ROOT
        # Parents must be directories listed earlier: nothing can be written through a symlink or a file.
        if parent not in directories:
            raise SnapshotError(
                f"manifest refused: {path!r} comes before its directory, or its parent is not a "
                "directory of the snapshot"
            )
        if path in seen:
            raise SnapshotError(f"manifest refused: {path!r} is listed twice")
        seen.add(path)
        if not 0 <= mode <= 0o7777:
            raise SnapshotError(f"manifest refused: {path!r} has an impossible mode {mode:o}")
        if kind == DIRECTORY:
            directories.add(path)
        elif kind == SYMLINK:
            if not target or "\x00" in target:
                raise SnapshotError(f"manifest refused: the symlink {path!r} has no usable target")
        elif kind == FILE:
            _check_spans(path, size, spans, chunk_count, size_of)
        else:
            raise SnapshotError(f"manifest refused: {path!r} is of unknown type {kind!r}")


def _check_spans(
    path: str, size: int, spans: Iterable[Sequence[int]], chunk_count: int, size_of: Callable[[int], int]
) -> None:
    covered = 0
    for chunk, offset, length in spans:
        if not 0 <= chunk < chunk_count:
            raise SnapshotError(f"manifest refused: {path!r} names chunk {chunk}, not listed")
        if offset < 0 or length <= 0 or offset + length > size_of(chunk):
            raise SnapshotError(f"manifest refused: {path!r} has a span outside its chunk")
        covered += length
    if covered != size:
        raise SnapshotError(
            f"manifest refused: the spans of {path!r} hold {covered} bytes, its size is {size}"
        )
