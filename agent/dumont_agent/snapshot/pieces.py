"""A manifest stored in content-addressed pieces, so a re-snapshot uploads only the pieces that changed.

Every snapshot used to upload its whole manifest (about 0.9 MB for 19,000 files and 10,000 chunks, most
of it chunk digests, which do not compress), more than all the chunks a change of 1% of the files writes.
Now its entries are written one a line, each span naming its chunk by digest instead of by number (a
number moves whenever a chunk is added before it), and the lines are cut where their content says
(FastCDC, `PIECES`), so a changed file changes the piece or two that hold its line, not the others.

Each piece is a chunk like any other: named by the SHA-256 of its content, a Zstandard frame, in the
snapshot's digest list, so the sweep keeps it, the verification before destroy checks it, and a restore
checks its digest. What is stored under the manifest's own key is a small document listing the pieces.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import zstandard

from dumont_agent.snapshot import cutting
from dumont_agent.snapshot.chunks import open_frame
from dumont_agent.snapshot.compression import compress_parts
from dumont_agent.snapshot.errors import SnapshotError
from dumont_agent.snapshot.lines import add_entry, entry_lines, json_bytes, values
from dumont_agent.snapshot.manifest import ChunkRef, ChunkTable, EntryTable, Manifest

FIRST_VERSION = 3
"""Manifests of this format version and later may be stored in pieces."""
PIECES = cutting.ChunkSizes(average=1536, minimum=512, maximum=8 * 1024)
"""About 2 KiB of lines a piece: smaller pieces make a change upload less, but each piece costs its digest
in the document under the manifest's key, uploaded whole by every snapshot."""
PIECE_LEVEL = 3
"""Pieces are mostly hex digests, which compress about as well at any level: for the bench's 1 GiB
workspace, level 9 stored them 0.8% smaller than level 3 and made the split 40% slower."""
FETCH_WORKERS = 8
"""Pieces fetched at once when a manifest is read: each is a small request."""
_PART_BYTES = 64 * 1024


class Piece(NamedTuple):
    ref: ChunkRef
    frame: bytes


class PiecedManifest(NamedTuple):
    document: bytes
    """What is stored under the manifest's key: the manifest without its entries, and its pieces."""
    pieces: list[Piece]
    """Each distinct piece once, in order."""


def split_manifest(manifest: Manifest) -> PiecedManifest:
    cutter = cutting.CutStream(PIECES, _PART_BYTES)
    compressor = zstandard.ZstdCompressor(level=PIECE_LEVEL, write_checksum=False, write_content_size=True)
    pieces: dict[str, Piece] = {}
    order: list[ChunkRef] = []

    def add(chunks: Iterator[tuple[int, bytes | memoryview]]) -> None:
        for _, content in chunks:
            digest = hashlib.sha256(content).hexdigest()
            if digest not in pieces:
                frame = compressor.compress(content)
                pieces[digest] = Piece(ChunkRef(digest, len(content), len(frame)), frame)
            order.append(pieces[digest].ref)

    for lines in _lines(manifest):
        with memoryview(lines) as view:
            for start in range(0, len(view), _PART_BYTES):
                add(cutter.feed(view[start : start + _PART_BYTES]))
    add(cutter.finish())
    document = {
        "version": manifest.version,
        "created_at": manifest.created_at,
        "total_bytes": manifest.total_bytes,
        "file_count": manifest.file_count,
        "compression": manifest.compression,
        "pieces": [[ref.digest, ref.size, ref.stored_size] for ref in order],
    }
    return PiecedManifest(compress_parts([json_bytes(document)]), list(pieces.values()))


def _lines(manifest: Manifest) -> Iterator[bytes]:
    """The entries, a JSON array a line, each span naming its chunk by digest and sizes."""
    chunks = manifest.chunk_table
    digest, size, stored_size = chunks.digest, chunks.size, chunks.stored_size

    def span_text(chunk: int, offset: int, length: int) -> str:
        return f'["{digest(chunk)}",{size(chunk)},{stored_size(chunk)},{offset},{length}]'

    return entry_lines(manifest.entries, span_text)


def joined(document: dict[str, Any], fetch: Callable[[str], bytes]) -> tuple[EntryTable, ChunkTable]:
    """The entries and chunks of a manifest stored in pieces, each piece fetched and checked against its
    digest. SnapshotError when a piece is missing or damaged, or its lines are not a manifest's."""
    refs = [_piece_ref(item) for item in document["pieces"]]
    distinct = list({ref.digest: ref for ref in refs}.values())
    with ThreadPoolExecutor(max_workers=FETCH_WORKERS) as pool:
        fetched = pool.map(_fetching(fetch), distinct)
        frames = dict(zip((ref.digest for ref in distinct), fetched, strict=True))
    contents = {ref.digest: open_frame(ref, frames.pop(ref.digest)) for ref in distinct}
    body = b"".join(contents[ref.digest] for ref in refs)
    del contents
    if body and not body.endswith(b"\n"):
        raise SnapshotError("manifest refused: its pieces do not end with a whole line")
    chunks = ChunkTable()
    entries = EntryTable()
    span_of = _SpanReader(chunks)
    for line in values([body]):
        add_entry(entries, line, span_of)
    return entries, chunks


def _fetching(fetch: Callable[[str], bytes]) -> Callable[[ChunkRef], bytes]:
    def fetch_piece(ref: ChunkRef) -> bytes:
        try:
            return fetch(ref.digest)
        except Exception as error:
            raise SnapshotError(
                f"manifest refused: its piece {ref.digest} could not be fetched "
                f"({str(error) or type(error).__name__})"
            ) from error

    return fetch_piece


def _piece_ref(item: Any) -> ChunkRef:
    digest, size, stored_size = item
    if type(digest) is not str or type(size) is not int or type(stored_size) is not int:
        raise TypeError(f"a piece must be a digest and two sizes, not {item!r:.100}")
    return ChunkRef(digest, size, stored_size)


class _SpanReader:
    """A span as a line of pieces holds it, to the chunk number, offset and length it names; its chunk is
    numbered when first named. Runs once a span: a workspace has tens of thousands."""

    def __init__(self, chunks: ChunkTable) -> None:
        self._chunks = chunks
        self._last: tuple[str, int] = ("", -1)
        """The chunk named last, and its number: small files follow one another in a chunk."""

    def __call__(self, item: Any) -> tuple[int, int, int]:
        digest, size, stored_size, offset, length = item
        if (
            type(digest) is not str
            or type(size) is not int
            or type(stored_size) is not int
            or type(offset) is not int
            or type(length) is not int
        ):
            raise TypeError(f"a span must be a digest and four integers, not {item!r:.150}")
        last_digest, number = self._last
        if digest != last_digest:
            number = self._chunks.named(digest, size, stored_size)
            self._last = (digest, number)
        else:
            self._chunks.check_sizes(number, size, stored_size)
        return number, offset, length
