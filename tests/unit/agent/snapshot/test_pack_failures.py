"""A pack that fails says why and leaves no chunk of its own staged."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from dumont_agent.snapshot import NotEnoughSpace, WorkspaceChanged, chunks, pack, walk


def test_running_out_of_space_while_packing_removes_what_was_staged(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = chunks._write_frames
    writes: list[int] = []

    def disk_full_after_two(descriptor: int, frames: list[bytes]) -> None:
        if len(writes) >= 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        writes.append(len(frames))
        original(descriptor, frames)

    monkeypatch.setattr(chunks, "_write_frames", disk_full_after_two)
    staging = tmp_path / "staging"

    with pytest.raises(NotEnoughSpace, match="no space left"):
        pack(workspace, staging)

    assert len(writes) == 2
    assert list(staging.iterdir()) == []


def test_a_file_changing_while_it_is_packed_fails_the_pack(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = walk.read_unchanged

    def read_then_write(path: str, *args: Any) -> None:
        original(path, *args)
        if path.endswith("model.pt"):  # read in parts: the next part sees the change
            with Path(path).open("ab") as file:
                file.write(b"still training")

    monkeypatch.setattr(walk, "read_unchanged", read_then_write)
    with pytest.raises(WorkspaceChanged, match=r"model\.pt changed while it was being packed"):
        pack(workspace, tmp_path / "staging")
    assert list((tmp_path / "staging").iterdir()) == []


def _replace_with_file(path: Path) -> None:
    path.unlink()
    path.write_bytes(b"# notes\n" * 40)  # the same size, another inode


def _replace_with_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _replace_with_symlink(path: Path) -> None:
    path.unlink()
    path.symlink_to("run.sh")


@pytest.mark.parametrize(
    "replace", [_replace_with_file, _replace_with_directory, _replace_with_symlink], ids=lambda f: f.__name__
)
def test_a_file_replaced_after_the_walk_saw_it_fails_the_pack(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace: Any
) -> None:
    original = walk.read_unchanged

    def replace_then_read(path: str, *args: Any) -> None:
        if path.endswith("notes.md"):
            replace(Path(path))
        original(path, *args)

    monkeypatch.setattr(walk, "read_unchanged", replace_then_read)
    with pytest.raises(WorkspaceChanged, match=r"notes\.md changed while it was being packed"):
        pack(workspace, tmp_path / "staging")


def test_packing_leaves_the_interpreters_thread_switching_as_it_was_whether_it_fails_or_not(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sys.getswitchinterval()
    seen_while_packing: list[float] = []
    original = walk.read_unchanged

    def read_and_note(*args: Any) -> None:
        seen_while_packing.append(sys.getswitchinterval())
        original(*args)

    monkeypatch.setattr(walk, "read_unchanged", read_and_note)
    sys.setswitchinterval(0.004)
    try:
        pack(workspace, tmp_path / "staging")
        after_a_pack = sys.getswitchinterval()
        monkeypatch.setattr(chunks, "_write_frames", _disk_full)
        with pytest.raises(NotEnoughSpace):
            pack(workspace, tmp_path / "again")
        after_a_failure = sys.getswitchinterval()
    finally:
        sys.setswitchinterval(before)

    assert after_a_pack == pytest.approx(0.004)
    assert after_a_failure == pytest.approx(0.004)
    assert seen_while_packing
    assert max(seen_while_packing) < 0.004


def _disk_full(descriptor: int, frames: list[bytes]) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
