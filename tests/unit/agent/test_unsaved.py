"""What each heartbeat says the last snapshot does not hold: what a failover now would lose."""

from __future__ import annotations

import os
from pathlib import Path

from dumont_agent.snapshot import pack
from dumont_agent.unsaved import WALK_BUDGET, UnsavedMeter, measure, saved_files


def write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_without_a_snapshot_every_file_is_unsaved(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", b"a" * 10)
    write(tmp_path / "deep" / "b.bin", b"b" * 30)

    size = measure(tmp_path, {})

    assert (size.total_bytes, size.unsaved_bytes, size.unsaved_files) == (40, 40, 2)


def test_only_files_changed_or_added_since_the_snapshot_are_unsaved(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    write(workspace / "kept.txt", b"k" * 100)
    write(workspace / "edited.txt", b"e" * 50)
    write(workspace / "same-size.txt", b"s" * 20)
    manifest = pack(workspace, tmp_path / "staging").manifest
    saved = saved_files(manifest)

    write(workspace / "edited.txt", b"e" * 70)
    write(workspace / "new" / "file.bin", b"n" * 5)
    stamp = (workspace / "same-size.txt").stat().st_mtime_ns + 1_000_000_000
    (workspace / "same-size.txt").write_bytes(b"t" * 20)
    os.utime(workspace / "same-size.txt", ns=(stamp, stamp))
    (workspace / "link").symlink_to("kept.txt")

    size = measure(workspace, saved)

    assert size.total_bytes == 100 + 70 + 20 + 5, "symlinks are not followed nor counted"
    assert (size.unsaved_bytes, size.unsaved_files) == (70 + 20 + 5, 3)


def test_the_workspace_is_walked_again_only_when_the_budget_allows(tmp_path: Path) -> None:
    # Each reading asks the time before its walk and, when it walks, after it: a walk "takes" 0.5 s.
    times = iter(
        [
            1000.0,
            1000.5,
            1000.0 + WALK_BUDGET * 0.5 - 1,
            1000.0 + WALK_BUDGET * 0.5,
            1002.0 + WALK_BUDGET * 0.5,
        ]
    )
    write(tmp_path / "a.txt", b"a" * 10)
    meter = UnsavedMeter(tmp_path, clock=lambda: next(times))
    assert meter.reading()["workspace_bytes"] == 10

    write(tmp_path / "b.txt", b"b" * 5)
    assert meter.reading()["workspace_bytes"] == 10, "not walked again before 100 times 0.5 s"
    assert meter.reading()["workspace_bytes"] == 15, "walked again once the budget allows"


def test_a_snapshot_taken_or_restored_makes_its_files_saved_at_once(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    write(workspace / "model.bin", b"m" * 64)
    meter = UnsavedMeter(workspace)
    assert meter.reading()["unsaved_bytes"] == 64

    meter.snapshot_holds(pack(workspace, tmp_path / "staging").manifest)

    assert meter.reading()["unsaved_bytes"] == 0
