"""A workspace that holds one snapshot catches up with a newer one by downloading only the chunks it
lacks: the rest are read back from its own files, and checked like downloaded ones."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from dumont_agent.local_chunks import LocalChunks
from dumont_agent.snapshot import pack, restore
from tests.unit.agent.snapshot.conftest import KIB, fetch_from, tree, write


def test_catching_up_downloads_only_what_changed_and_restores_every_byte(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    rng = random.Random(7)
    for index in range(200):
        write(workspace / f"src/module_{index:03d}.py", rng.randbytes(rng.randrange(100, 3000)))
    write(workspace / "weights.bin", rng.randbytes(900 * KIB))
    first = pack(workspace, tmp_path / "first")
    standby = tmp_path / "standby"
    restore(first.manifest, fetch_from(first), standby)
    with (workspace / "src/module_050.py").open("ab") as file:
        file.write(b"# trained for another epoch\n" * 40)
    write(workspace / "notes.md", b"loss went down\n" * 100)
    second = pack(workspace, tmp_path / "second", known=first.manifest.digests)
    downloaded: list[str] = []
    stored = fetch_from(first, second)

    def download(digest: str) -> bytes:
        downloaded.append(digest)
        return stored(digest)

    local = LocalChunks(first.manifest, standby)
    restore(second.manifest, lambda digest: local.frame(digest) or download(digest), standby)

    assert tree(standby) == tree(workspace)
    assert sorted(downloaded) == sorted(set(second.manifest.digests) - set(first.manifest.digests))
    assert local.reused_bytes > 0.9 * first.manifest.total_bytes


def test_a_file_changed_since_is_downloaded_rather_than_trusted(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    write(workspace / "weights.bin", random.Random(3).randbytes(300 * KIB))
    first = pack(workspace, tmp_path / "first")
    standby = tmp_path / "standby"
    shutil.copytree(workspace, standby)
    (standby / "weights.bin").write_bytes(b"\0" * 300 * KIB)  # not what the manifest says any more

    local = LocalChunks(first.manifest, standby)

    assert first.manifest.digests
    assert all(local.frame(digest) is None for digest in first.manifest.digests)
    assert LocalChunks(None, standby).frame(first.manifest.digests[0]) is None
