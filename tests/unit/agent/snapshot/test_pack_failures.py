"""A pack that fails says why and leaves no chunk of its own staged."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from dumont_agent.snapshot import NotEnoughSpace, WorkspaceChanged, chunks, pack, walk


def test_running_out_of_space_while_packing_removes_what_was_staged(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = chunks._write_all
    writes: list[int] = []

    def disk_full_after_two(descriptor: int, data: bytes) -> None:
        if len(writes) >= 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        writes.append(len(data))
        original(descriptor, data)

    monkeypatch.setattr(chunks, "_write_all", disk_full_after_two)
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
