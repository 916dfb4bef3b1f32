"""A snapshot taken in the second format (content-defined chunks, the manifest one Zstandard frame, written
by the agent before manifests were stored in pieces; small chunks here) still restores byte for byte.

`format2/` holds its manifest and chunks, as the agent of that format wrote them for the workspace of
`test_format1`, compressed with zstd.
"""

from __future__ import annotations

from pathlib import Path

from dumont_agent.snapshot import Manifest, restore
from tests.unit.agent.snapshot.conftest import fetch_from, tree
from tests.unit.agent.snapshot.test_format1 import old_workspace_files

FORMAT2 = Path(__file__).parent / "format2"


def test_a_snapshot_of_the_second_format_restores_byte_for_byte(tmp_path: Path) -> None:
    expected = old_workspace_files(tmp_path / "workspace")
    manifest = Manifest.from_bytes((FORMAT2 / "manifest").read_bytes())
    assert (manifest.version, manifest.compression) == (2, "zstd")

    restore(manifest, fetch_from(FORMAT2 / "chunks"), tmp_path / "restored")

    restored = tree(tmp_path / "restored")
    assert {path: entry for path, entry in restored.items() if path in expected} == expected
    assert set(restored) == set(tree(tmp_path / "workspace"))
