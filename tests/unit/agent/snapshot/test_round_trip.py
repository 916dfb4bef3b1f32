"""What comes back from a restore is byte for byte what was packed, and packing is deterministic."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from dumont_agent.snapshot import Manifest, MissingChunk, pack, restore
from tests.unit.agent.snapshot.conftest import fetch_from, tree, write

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def test_a_restored_workspace_is_identical_to_the_packed_one(workspace: Path, tmp_path: Path) -> None:
    expected = tree(workspace)
    packed = pack(workspace, tmp_path / "staging", workers=3)
    manifest = Manifest.from_bytes(packed.manifest.to_bytes())

    restored = restore(manifest, fetch_from(packed), tmp_path / "restored", workers=3)

    assert tree(tmp_path / "restored") == expected
    assert restored.files == manifest.file_count == sum(1 for kind, *_ in expected.values() if kind == "file")
    assert restored.bytes == manifest.total_bytes
    assert len(manifest.digests) == len(set(manifest.digests)) == len(packed.written)
    assert set(packed.staged) == set(manifest.digests)
    assert packed.stored_bytes == sum(path.stat().st_size for path in (tmp_path / "staging").iterdir())
    assert len(list((tmp_path / "staging").iterdir())) <= 3  # a segment file a worker, not a file a chunk
    assert packed.compression_ratio == manifest.total_bytes / packed.stored_bytes


def test_restore_replaces_an_existing_workspace_entirely(workspace: Path, tmp_path: Path) -> None:
    expected = tree(workspace)
    packed = pack(workspace, tmp_path / "staging")
    target = tmp_path / "target"
    write(target / "stale.txt", b"from before the snapshot")
    write(target / "notes.md", b"older notes")

    restore(packed.manifest, fetch_from(packed), target)

    assert tree(target) == expected
    assert sorted(path.name for path in tmp_path.iterdir()) == ["staging", "target", "workspace"]


def test_packing_twice_gives_the_same_chunks(workspace: Path, tmp_path: Path) -> None:
    first = pack(workspace, tmp_path / "first", workers=1)
    second = pack(workspace, tmp_path / "second", workers=4)

    assert first.manifest.chunks == second.manifest.chunks
    assert first.manifest.entries == second.manifest.entries


def test_special_files_and_the_staging_directory_are_not_packed(workspace: Path, tmp_path: Path) -> None:
    os.mkfifo(workspace / "pipe")
    staging = workspace / ".snapshot-staging"

    packed = pack(workspace, staging)

    assert packed.skipped == ("pipe",)
    paths = {entry.path for entry in packed.manifest.entries}
    assert "pipe" not in paths
    assert not any(path.startswith(".snapshot-staging") for path in paths)


def test_an_empty_workspace_packs_and_restores(tmp_path: Path) -> None:
    (tmp_path / "workspace").mkdir()

    packed = pack(tmp_path / "workspace", tmp_path / "staging")
    restored = restore(packed.manifest, fetch_from(packed), tmp_path / "restored")

    assert packed.manifest.chunks == []
    assert packed.compression_ratio == 1.0
    assert restored.files == 0
    assert list((tmp_path / "restored").iterdir()) == []


def test_a_workspace_packed_with_zstd_restores_and_says_so(workspace: Path, tmp_path: Path) -> None:
    expected = tree(workspace)
    lz4 = pack(workspace, tmp_path / "lz4")
    packed = pack(workspace, tmp_path / "zstd", compression="zstd")
    manifest = Manifest.from_bytes(packed.manifest.to_bytes())

    restore(manifest, fetch_from(packed), tmp_path / "restored")

    assert tree(tmp_path / "restored") == expected
    assert (manifest.compression, lz4.manifest.compression) == ("zstd", "lz4")
    assert manifest.digests, "the workspace was cut into chunks"
    assert all(packed.frame(digest)[:4] == ZSTD_MAGIC for digest in manifest.digests)
    # The same chunks, whichever the compression: what one stored, the other need not upload again.
    assert manifest.digests == lz4.manifest.digests
    assert packed.stored_bytes < lz4.stored_bytes


def test_every_file_gets_its_own_mode_whatever_the_umask_takes_away(tmp_path: Path) -> None:
    # Files are created with their mode and chmodded only when the umask would change it.
    workspace = tmp_path / "workspace"
    modes = {"open.txt": 0o666, "group.txt": 0o664, "private.txt": 0o600, "readonly.txt": 0o444}
    for name, mode in modes.items():
        write(workspace / name, name.encode(), mode=mode)
    write(workspace / "empty-open.txt", b"", mode=0o666)
    write(workspace / "sticky.sh", b"#!/bin/sh\n", mode=0o1755)
    expected = tree(workspace)
    packed = pack(workspace, tmp_path / "staging")
    previous = os.umask(0o077)
    try:
        restore(packed.manifest, fetch_from(packed), tmp_path / "restored")
    finally:
        os.umask(previous)

    assert tree(tmp_path / "restored") == expected
    assert (tmp_path / "restored" / "open.txt").stat().st_mode & 0o7777 == 0o666


def test_the_garbage_collector_is_back_on_after_a_restore_even_a_failed_one(
    workspace: Path, tmp_path: Path
) -> None:
    packed = pack(workspace, tmp_path / "staging")

    restore(packed.manifest, fetch_from(packed), tmp_path / "restored")
    assert gc.isenabled()

    def lost(digest: str) -> bytes:
        raise OSError("gone")

    with pytest.raises(MissingChunk):
        restore(packed.manifest, lost, tmp_path / "again")
    assert gc.isenabled()


def test_frames_the_kernel_takes_only_part_of_at_once_are_staged_whole(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch of frames goes out in one writev; a short write (a signal, a full pipe of a network disk)
    must not lose or tear the frames after the part written."""
    expected = tree(workspace)
    writev = os.writev

    def short_writev(descriptor: int, buffers: list[bytes]) -> int:
        return writev(descriptor, [buffers[0][: len(buffers[0]) // 2 + 1]])

    monkeypatch.setattr(os, "writev", short_writev)
    packed = pack(workspace, tmp_path / "staging", workers=2)
    monkeypatch.undo()

    restore(packed.manifest, fetch_from(packed), tmp_path / "restored")

    assert tree(tmp_path / "restored") == expected
