"""A restore that fails says why and leaves the workspace as it was, or absent if it was absent."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dumont_agent.snapshot import (
    COMPRESSIONS,
    Compression,
    CorruptChunk,
    MissingChunk,
    NotEnoughSpace,
    PackResult,
    pack,
    restore,
)
from tests.unit.agent.snapshot.conftest import fetch_from, tree, write


def flip_a_byte(frame: bytes, packed: PackResult) -> bytes:
    data = bytearray(frame)
    data[len(data) // 2] ^= 0x40
    return bytes(data)


def other_chunks_frame(frame: bytes, packed: PackResult) -> bytes:
    return next(packed.frame(digest) for digest in sorted(packed.staged) if packed.frame(digest) != frame)


def not_a_frame(frame: bytes, packed: PackResult) -> bytes:
    return b"<html>503 Service Unavailable</html>"


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("damage", [flip_a_byte, other_chunks_frame, not_a_frame])
def test_a_corrupt_chunk_fails_the_restore_and_leaves_the_workspace_untouched(
    workspace: Path, tmp_path: Path, damage: Callable[[bytes, PackResult], bytes], compression: Compression
) -> None:
    packed = pack(workspace, tmp_path / "staging", compression=compression)
    target = tmp_path / "target"
    write(target / "work.txt", b"what the user has now")
    before = tree(target)
    largest = max(packed.manifest.chunks, key=lambda chunk: chunk.size)
    fetch = fetch_from(packed)

    def fetch_damaged(digest: str) -> bytes:
        frame = fetch(digest)
        return damage(frame, packed) if digest == largest.digest else frame

    with pytest.raises(CorruptChunk) as raised:
        restore(packed.manifest, fetch_damaged, target)

    assert raised.value.digest == largest.digest
    assert largest.digest in str(raised.value)
    assert tree(target) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["staging", "target", "workspace"]


def test_a_chunk_that_cannot_be_fetched_fails_the_restore(workspace: Path, tmp_path: Path) -> None:
    packed = pack(workspace, tmp_path / "staging")
    missing = packed.manifest.chunks[-1].digest
    fetch = fetch_from(packed)
    target = tmp_path / "target"
    write(target / "work.txt", b"what the user has now")
    before = tree(target)

    def fetch_all_but_one(digest: str) -> bytes:
        if digest == missing:
            raise FileNotFoundError(f"no chunk {digest}")
        return fetch(digest)

    with pytest.raises(MissingChunk) as raised:
        restore(packed.manifest, fetch_all_but_one, target)

    assert raised.value.digest == missing
    assert tree(target) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["staging", "target", "workspace"]


def test_a_missing_target_is_not_created_when_the_restore_fails(workspace: Path, tmp_path: Path) -> None:
    packed = pack(workspace, tmp_path / "staging")

    def unreachable(digest: str) -> bytes:
        raise ConnectionError("object storage unreachable")

    with pytest.raises(MissingChunk, match="object storage unreachable"):
        restore(packed.manifest, unreachable, tmp_path / "target")

    assert sorted(path.name for path in tmp_path.iterdir()) == ["staging", "workspace"]


def test_running_out_of_space_while_restoring_leaves_the_workspace_untouched(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = pack(workspace, tmp_path / "staging")
    target = tmp_path / "target"
    write(target / "work.txt", b"what the user has now")
    before = tree(target)

    def disk_full(*_: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    # Files written whole and files written in pieces alike.
    monkeypatch.setattr(os, "writev", disk_full)
    monkeypatch.setattr(os, "pwrite", disk_full)
    with pytest.raises(NotEnoughSpace):
        restore(packed.manifest, fetch_from(packed), target)

    assert tree(target) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["staging", "target", "workspace"]
