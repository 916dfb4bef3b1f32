"""A snapshot taken in the first format (8 MiB pieces and tar bundles, written by the agent before
content-defined chunks; small pieces here) still restores byte for byte.

`format1/` holds its manifest and chunks, as the agent of that format wrote them for `old_workspace`.
"""

from __future__ import annotations

import random
from pathlib import Path

from dumont_agent.snapshot import Manifest, restore
from tests.unit.agent.snapshot.conftest import KIB, fetch_from, tree, write

FORMAT1 = Path(__file__).parent / "format1"


def old_workspace(root: Path) -> Path:
    rng = random.Random(3)
    words = [b"tensor", b"model", b"layer", b"loss", b"batch", b"epoch", b"\n", b"    "]
    text = b" ".join(rng.choice(words) for _ in range(40_000))
    write(root / "empty.txt", b"")
    write(root / "run.sh", b"#!/bin/sh\necho hi\n", mode=0o755)
    write(root / "weights.bin", text[: 150 * KIB])  # three pieces of 64 KiB, the last one short
    write(root / "zeros.bin", bytes(130 * KIB))
    for index in range(30):
        write(root / f"src/module_{index:02d}.py", text[index * 700 : index * 700 + 100 + index * 97])
    (root / "empty-dir").mkdir()
    (root / "link").symlink_to("src/module_01.py")
    return root


def old_workspace_files(root: Path) -> dict[str, tuple[object, ...]]:
    """The old workspace, made at `root`, as a restore gives it back: all but its directories, whose
    mtimes are those of when the test made them."""
    return {path: entry for path, entry in tree(old_workspace(root)).items() if entry[0] != "dir"}


def test_a_snapshot_of_the_first_format_restores_byte_for_byte(tmp_path: Path) -> None:
    expected = old_workspace_files(tmp_path / "workspace")
    manifest = Manifest.from_bytes((FORMAT1 / "manifest").read_bytes())
    assert manifest.version == 1

    restore(manifest, fetch_from(FORMAT1 / "chunks"), tmp_path / "restored")

    restored = tree(tmp_path / "restored")
    assert {path: entry for path, entry in restored.items() if path in expected} == expected
    assert set(restored) == set(tree(tmp_path / "workspace"))
