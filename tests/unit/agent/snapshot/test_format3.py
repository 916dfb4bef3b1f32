"""A snapshot taken in the third format by the agent before it kept manifests in columns still restores
byte for byte, and that agent's own copy of its last manifest (one JSON document then, lines now) still
tells the next snapshot which chunks are stored.

`format3/` holds the manifest's document and the frames of its chunks and pieces as that agent stored
them (`manifest`, `chunks/`), and its own copy (`agent-copy`), for the workspace of `test_format1`.
"""

from __future__ import annotations

from pathlib import Path

from dumont_agent.snapshot import Manifest, pack, restore
from tests.unit.agent.snapshot.conftest import fetch_from, tree
from tests.unit.agent.snapshot.test_format1 import old_workspace, old_workspace_files
from tests.unit.agent.snapshot.test_pieces import files_of

FORMAT3 = Path(__file__).parent / "format3"


def test_a_snapshot_of_the_third_format_restores_byte_for_byte(tmp_path: Path) -> None:
    expected = old_workspace_files(tmp_path / "workspace")
    fetch = fetch_from(FORMAT3 / "chunks")
    manifest = Manifest.from_bytes((FORMAT3 / "manifest").read_bytes(), fetch)
    assert manifest.version == 3

    restore(manifest, fetch, tmp_path / "restored")

    restored = tree(tmp_path / "restored")
    assert {path: entry for path, entry in restored.items() if path in expected} == expected
    assert set(restored) == set(tree(tmp_path / "workspace"))


def test_the_agents_older_copy_of_its_manifest_still_names_the_chunks_stored(tmp_path: Path) -> None:
    previous = Manifest.from_bytes((FORMAT3 / "agent-copy").read_bytes())
    stored = Manifest.from_bytes((FORMAT3 / "manifest").read_bytes(), fetch_from(FORMAT3 / "chunks"))
    assert files_of(previous) == files_of(stored)

    again = pack(
        old_workspace(tmp_path / "workspace"),
        tmp_path / "staging",
        known=previous.digests,
        known_sizes=previous.stored_sizes,
    )

    assert again.written == []
    assert sorted(again.manifest.digests) == sorted(previous.digests)
