"""A manifest survives serialization, and one that restore could not apply safely is refused."""

from __future__ import annotations

import json
from pathlib import Path

import lz4.frame
import pytest

from dumont_agent.snapshot import ChunkRef, Entry, Manifest, SnapshotError, Span, pack, restore
from dumont_agent.snapshot import manifest as manifest_module
from dumont_agent.snapshot.lines import entry_lines
from tests.unit.agent.snapshot.conftest import MTIME_NS, NON_UTF8_NAME, fetch_from, tree, write


def manifest_with(*entries: Entry, chunks: list[ChunkRef] | None = None) -> Manifest:
    root = Entry(".", "dir", 0o755, MTIME_NS)
    files = [entry for entry in entries if entry.kind == "file"]
    return Manifest(
        version=1,
        created_at="2025-03-01T12:00:00Z",
        entries=[root, *entries],
        chunks=chunks or [],
        total_bytes=sum(entry.size for entry in files),
        file_count=len(files),
    )


@pytest.mark.parametrize(
    "entries",
    [
        [Entry("../evil", "file", 0o644, MTIME_NS)],
        [Entry("/evil", "file", 0o644, MTIME_NS)],
        [Entry("a", "dir", 0o755, MTIME_NS), Entry("a/../../evil", "file", 0o644, MTIME_NS)],
        [Entry("..", "dir", 0o755, MTIME_NS)],
        # A file written through a symlink from the same manifest would land wherever it points.
        [Entry("link", "symlink", 0o777, MTIME_NS, target=".."), Entry("link/evil", "file", 0o644, MTIME_NS)],
        [Entry("missing-parent/evil", "file", 0o644, MTIME_NS)],
    ],
    ids=["dot-dot", "absolute", "dot-dot-inside", "dot-dot-directory", "through-symlink", "no-parent"],
)
def test_a_manifest_with_a_path_outside_the_workspace_is_refused(
    tmp_path: Path, entries: list[Entry]
) -> None:
    manifest = manifest_with(*entries)
    target = tmp_path / "area" / "target"
    write(target / "work.txt", b"what the user has now")
    before = tree(target)

    with pytest.raises(SnapshotError, match="manifest refused"):
        restore(manifest, fetch_from(tmp_path), target)
    with pytest.raises(SnapshotError, match="manifest refused"):
        Manifest.from_bytes(manifest.to_bytes())

    assert tree(target) == before
    assert [path.name for path in (tmp_path / "area").iterdir()] == ["target"]
    assert not (tmp_path / "evil").exists()


def test_a_manifest_whose_spans_do_not_fit_its_chunks_is_refused(tmp_path: Path) -> None:
    chunk = ChunkRef("ab" * 32, size=100, stored_size=120)
    beyond_the_chunk = manifest_with(
        Entry("a.txt", "file", 0o644, MTIME_NS, size=50, spans=(Span(0, 80, 50),)), chunks=[chunk]
    )
    no_such_chunk = manifest_with(
        Entry("a.txt", "file", 0o644, MTIME_NS, size=50, spans=(Span(1, 0, 50),)), chunks=[chunk]
    )
    short_of_the_size = manifest_with(
        Entry("a.txt", "file", 0o644, MTIME_NS, size=60, spans=(Span(0, 0, 50),)), chunks=[chunk]
    )
    for manifest in (beyond_the_chunk, no_such_chunk, short_of_the_size):
        with pytest.raises(SnapshotError, match="manifest refused"):
            Manifest.from_bytes(manifest.to_bytes())


def test_a_manifest_survives_serialization(workspace: Path, tmp_path: Path) -> None:
    manifest = pack(workspace, tmp_path / "staging").manifest

    assert Manifest.from_bytes(manifest.to_bytes()) == manifest
    assert manifest.version == 3
    assert manifest.created_at.endswith("Z")
    assert NON_UTF8_NAME in {entry.path for entry in manifest.entries}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a manifest at all",
        lz4.frame.compress(b"{not json"),
        lz4.frame.compress(b'["a", "list"]'),
        lz4.frame.compress(b'{"version": 1}'),
        lz4.frame.compress(
            b'{"version": 4, "created_at": "", "total_bytes": 0, "file_count": 0, "chunks": [], '
            b'"entries": [{"path": ".", "type": "dir", "mode": 493, "mtime_ns": 0}]}'
        ),
        lz4.frame.compress(
            b'{"version": 1, "created_at": "", "total_bytes": 0, "file_count": 0, "chunks": [], '
            b'"entries": [{"path": ".", "type": "dir", "mode": "rwx", "mtime_ns": 0}]}'
        ),
    ],
    ids=["empty", "text", "lz4-not-json", "json-list", "fields-missing", "newer-version", "mode-not-int"],
)
def test_a_damaged_manifest_is_refused(data: bytes) -> None:
    with pytest.raises(SnapshotError, match="manifest refused"):
        Manifest.from_bytes(data)


def test_a_manifest_larger_than_its_limit_once_decompressed_is_refused(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pack(workspace, tmp_path / "staging").manifest.to_bytes()
    monkeypatch.setattr(manifest_module, "MAX_MANIFEST_BYTES", 1000)

    with pytest.raises(SnapshotError, match=r"manifest refused: .*more than 1,000 bytes"):
        Manifest.from_bytes(data)


def test_entry_lines_written_by_hand_are_the_json_the_encoder_writes() -> None:
    """The lines are content-addressed pieces: a byte written differently would store a new piece, and a
    reader expecting JSON must read them as the encoder's own."""
    names = ["plain.txt", 'quote" back\\slash', "new\nline\ttab", "ünïcödé ✓ 🚀", NON_UTF8_NAME, "\x01\x1f"]
    chunks = [ChunkRef(f"{index:064x}", 100 + index, 50 + index) for index in range(3)]
    entries = [Entry(".", "dir", 0o755, MTIME_NS)]
    for index, name in enumerate(names):
        spans = (Span(index % 3, 7, 90), Span((index + 1) % 3, 0, 10))
        entries.append(Entry(name, "file", 0o644, MTIME_NS + index, 100, "", spans))
        entries.append(Entry(f"link-{index}", "symlink", 0o777, -5, 0, name))
    entries.append(Entry("empty", "file", 0o600, 0, 0))
    manifest = Manifest.from_bytes(manifest_module.new_manifest(entries, chunks, "lz4").to_bytes())

    def span_text(chunk: int, offset: int, length: int) -> str:
        return f"[{chunk},{offset},{length}]"

    def as_encoder_writes(entry: Entry) -> bytes:
        spans = [list(span) for span in entry.spans]
        fields = {"file": ["f", entry.size, spans], "symlink": ["l", entry.target], "dir": ["d"]}[entry.kind]
        line = [fields[0], entry.path, entry.mode, entry.mtime_ns, *fields[1:]]
        return json.dumps(line, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"

    expected = b"".join(as_encoder_writes(entry) for entry in entries)
    assert b"".join(entry_lines(entries, span_text)) == expected
    assert b"".join(entry_lines(manifest.entries, span_text)) == expected, "from a table's columns"
    assert manifest.entries == entries
