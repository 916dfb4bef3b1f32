"""A manifest's chunks and entries held in columns read back as the items they were given, find each
chunk by its digest however many there are, and refuse what a manifest must not hold."""

from __future__ import annotations

import hashlib
import itertools

import pytest
import zstandard

from dumont_agent.snapshot import ChunkRef, Entry, Manifest, SnapshotError, Span
from dumont_agent.snapshot.tables import ChunkTable, EntryTable

MTIME_NS = 1_700_000_000_123_456_789


def chunk(number: int) -> ChunkRef:
    return ChunkRef(hashlib.sha256(str(number).encode()).hexdigest(), 1000 + number, 500 + number)


def test_every_chunk_is_found_by_its_digest_past_the_first_thousands() -> None:
    chunks = [chunk(number) for number in range(5000)]
    table = ChunkTable(chunks)

    assert table == chunks
    assert [table.number_of(item.digest) for item in chunks] == list(range(5000))
    assert table.number_of(chunk(5000).digest) == -1
    assert table.number_of("not a digest") == -1
    assert table[-1] == chunks[-1]
    assert table[10:13] == chunks[10:13]
    with pytest.raises(IndexError):
        table[5000]


def test_a_tables_digests_and_stored_sizes_answer_as_a_set_and_a_dict_would() -> None:
    chunks = [chunk(number) for number in range(3)]
    table = ChunkTable(chunks)

    assert list(table.digests) == [item.digest for item in chunks]
    assert chunks[1].digest in table.digests
    assert chunk(3).digest not in table.digests
    assert dict(table.stored_sizes) == {item.digest: item.stored_size for item in chunks}
    assert table.stored_sizes.get(chunk(3).digest) is None
    assert table.total_stored_bytes == sum(item.stored_size for item in chunks)


@pytest.mark.parametrize(
    ("refused", "reason"),
    [
        (ChunkRef("AB" * 32, 10, 10), "not a SHA-256 hex digest"),
        (ChunkRef("ab" * 31, 10, 10), "not a SHA-256 hex digest"),
        # Hex to `bytes.fromhex` too, and 64 characters long, yet not how a digest is written.
        (ChunkRef("ab " * 21 + "a", 10, 10), "not a SHA-256 hex digest"),
        (ChunkRef("0x" + "ab" * 31, 10, 10), "not a SHA-256 hex digest"),
        (chunk(0), "listed twice"),
        (ChunkRef("cd" * 32, 0, 10), "impossible size"),
        (ChunkRef("cd" * 32, 10, -1), "impossible size"),
    ],
    ids=["uppercase", "short", "spaced", "prefixed", "twice", "empty", "negative-stored-size"],
)
def test_a_chunk_a_manifest_must_not_hold_is_refused(refused: ChunkRef, reason: str) -> None:
    table = ChunkTable([chunk(0)])

    with pytest.raises(SnapshotError, match=f"manifest refused: .*{reason}"):
        table.append(refused)
    assert table == [chunk(0)]


def test_a_chunk_named_again_is_the_same_chunk_and_only_with_its_sizes() -> None:
    table = ChunkTable([chunk(0)])

    assert table.named(chunk(1).digest, chunk(1).size, chunk(1).stored_size) == 1
    assert table.named(chunk(0).digest, chunk(0).size, chunk(0).stored_size) == 0
    assert table == [chunk(0), chunk(1)]
    with pytest.raises(SnapshotError, match=r"manifest refused: .*given two sizes"):
        table.named(chunk(1).digest, chunk(1).size + 1, chunk(1).stored_size)
    with pytest.raises(SnapshotError, match=r"manifest refused: .*impossible size"):
        table.named(chunk(2).digest, 0, 10)
    assert table == [chunk(0), chunk(1)]


ENTRIES = [
    Entry(".", "dir", 0o755, MTIME_NS),
    Entry("data", "dir", 0o700, MTIME_NS + 1),
    Entry("data/empty", "file", 0o644, MTIME_NS + 2),
    Entry("data/one", "file", 0o600, MTIME_NS + 3, size=50, spans=(Span(0, 10, 50),)),
    Entry("data/two", "file", 0o4755, MTIME_NS + 4, size=70, spans=(Span(0, 60, 40), Span(1, 0, 30))),
    Entry("latest", "symlink", 0o777, MTIME_NS + 5, target="data/two"),
]


def test_entries_read_back_as_they_were_given() -> None:
    table = EntryTable(ENTRIES)

    assert table == ENTRIES
    assert list(reversed(table)) == ENTRIES[::-1]
    assert table[1:3] == ENTRIES[1:3]
    assert table.file_totals() == (3, 120)


def test_files_are_given_their_spans_in_order_once_packing_knows_them() -> None:
    table = EntryTable(
        Entry(item.path, item.kind, item.mode, item.mtime_ns, item.size, item.target) for item in ENTRIES
    )
    files = [item for item in ENTRIES if item.kind == "file"]

    table.fill_spans(iter([list(item.spans) for item in files]))

    assert table == ENTRIES
    with pytest.raises(ValueError, match="already have spans"):
        table.fill_spans(iter([[]] * len(files)))


def lines_of(data: bytes) -> list[bytes]:
    return zstandard.ZstdDecompressor().decompressobj().decompress(data).splitlines()


def manifest_of(entries: list[Entry], chunks: list[ChunkRef]) -> Manifest:
    files = [entry for entry in entries if entry.kind == "file"]
    return Manifest(
        3, "2026-12-01T00:00:00Z", entries, chunks, sum(entry.size for entry in files), len(files)
    )


def test_a_manifest_is_written_a_line_an_item_and_read_back_equal() -> None:
    manifest = manifest_of(ENTRIES, [ChunkRef("ab" * 32, 100, 90), ChunkRef("cd" * 32, 30, 30)])

    data = manifest.to_bytes()

    assert len(lines_of(data)) == 1 + 2 + len(ENTRIES)
    assert Manifest.from_bytes(data) == manifest


@pytest.mark.parametrize(
    "damage",
    [
        lambda lines: [*lines, b'["c","' + b"ef" * 32 + b'",10,10]'],  # a chunk after the entries
        lambda lines: [*lines[:3], b"{not json", *lines[3:]],
        lambda lines: [*lines, b'["x","y",1,2]'],
        lambda lines: [*lines, b'["f","data/three",420,1,5,[[7,0,5]]]'],  # a chunk never listed
    ],
    ids=["chunk-after-entries", "not-json", "unknown-kind", "span-of-no-chunk"],
)
def test_a_manifest_whose_lines_are_damaged_is_refused(damage: object) -> None:
    manifest = manifest_of(ENTRIES, [ChunkRef("ab" * 32, 100, 90), ChunkRef("cd" * 32, 30, 30)])
    lines = damage(lines_of(manifest.to_bytes()))  # type: ignore[operator]

    damaged = zstandard.ZstdCompressor().compress(b"\n".join(lines) + b"\n")

    with pytest.raises(SnapshotError, match="manifest refused"):
        Manifest.from_bytes(damaged)


def test_a_manifest_of_thousands_of_entries_reads_back_equal() -> None:
    chunks = [chunk(number) for number in range(3000)]
    entries = [Entry(".", "dir", 0o755, MTIME_NS)] + [
        Entry(f"f{number}", "file", 0o644, MTIME_NS, size=10, spans=(Span(number, 0, 10),))
        for number in range(3000)
    ]
    manifest = manifest_of(entries, chunks)

    read = Manifest.from_bytes(manifest.to_bytes())

    assert read == manifest
    assert list(itertools.islice(read.digests, 2)) == [chunks[0].digest, chunks[1].digest]
