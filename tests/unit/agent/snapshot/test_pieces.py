"""A manifest is stored in content-addressed pieces: it reads back whole, a re-snapshot uploads only the
pieces that changed, and a piece that is missing or damaged refuses the manifest."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from dumont_agent.snapshot import (
    CorruptChunk,
    Manifest,
    PiecedManifest,
    SnapshotError,
    pack,
    pieces,
    restore,
    split_manifest,
)
from tests.unit.agent.snapshot.conftest import fetch_from, tree, write


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pieces, "PIECES", pieces.cutting.ChunkSizes(256, minimum=64, maximum=1024))


def pieces_of(pieced: PiecedManifest) -> Callable[[str], bytes]:
    frames = {piece.ref.digest: piece.frame for piece in pieced.pieces}
    return frames.__getitem__


def files_of(manifest: Manifest) -> list[tuple[object, ...]]:
    """Every entry with its content named by digests: what a manifest says, whatever its chunks' order."""
    return [
        (
            entry.path,
            entry.kind,
            entry.mode,
            entry.mtime_ns,
            entry.size,
            entry.target,
            *((manifest.chunks[span.chunk], span.offset, span.length) for span in entry.spans),
        )
        for entry in manifest.entries
    ]


def test_a_manifest_stored_in_pieces_reads_back_and_restores(workspace: Path, tmp_path: Path) -> None:
    expected = tree(workspace)
    packed = pack(workspace, tmp_path / "staging")
    pieced = split_manifest(packed.manifest)

    manifest = Manifest.from_bytes(pieced.document, pieces_of(pieced))
    restore(manifest, fetch_from(packed), tmp_path / "restored")

    assert len(pieced.pieces) > 3
    assert files_of(manifest) == files_of(packed.manifest)
    assert set(manifest.chunks) == set(packed.manifest.chunks)
    assert (manifest.version, manifest.file_count, manifest.total_bytes) == (
        3,
        packed.manifest.file_count,
        packed.manifest.total_bytes,
    )
    assert tree(tmp_path / "restored") == expected


def test_a_re_snapshot_stores_only_the_pieces_around_a_change(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    rng = random.Random(4)
    for index in range(400):
        write(workspace / f"src/module_{index:03d}.py", rng.randbytes(600))
    first = split_manifest(pack(workspace, tmp_path / "first").manifest)
    write(workspace / "src/module_200.py", b"print('changed')\n")

    second = split_manifest(pack(workspace, tmp_path / "second").manifest)

    stored = {piece.ref.digest for piece in first.pieces}
    new = [piece for piece in second.pieces if piece.ref.digest not in stored]
    assert len(first.pieces) > 20
    assert 1 <= len(new) <= 4
    stored_bytes = sum(piece.ref.stored_size for piece in first.pieces)
    assert sum(piece.ref.stored_size for piece in new) < stored_bytes / 5


def test_a_damaged_piece_refuses_the_manifest(workspace: Path, tmp_path: Path) -> None:
    pieced = split_manifest(pack(workspace, tmp_path / "staging").manifest)
    fetch = pieces_of(pieced)
    damaged = pieced.pieces[1].ref.digest

    def fetch_damaged(digest: str) -> bytes:
        return fetch(pieced.pieces[0].ref.digest) if digest == damaged else fetch(digest)

    with pytest.raises(CorruptChunk) as raised:
        Manifest.from_bytes(pieced.document, fetch_damaged)
    assert raised.value.digest == damaged


def test_a_missing_piece_or_no_way_to_fetch_them_refuses_the_manifest(
    workspace: Path, tmp_path: Path
) -> None:
    pieced = split_manifest(pack(workspace, tmp_path / "staging").manifest)

    def unreachable(digest: str) -> bytes:
        raise ConnectionError("object storage unreachable")

    with pytest.raises(SnapshotError, match=r"could not be fetched \(object storage unreachable\)"):
        Manifest.from_bytes(pieced.document, unreachable)
    with pytest.raises(SnapshotError, match="stored in pieces, and nothing was given to fetch them"):
        Manifest.from_bytes(pieced.document)
