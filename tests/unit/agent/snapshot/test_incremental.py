"""A second snapshot stages only the chunks that are not stored yet, and compresses no more than it must."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dumont_agent.snapshot import Compression, chunks, cutting, pack, restore
from tests.unit.agent.snapshot.conftest import KIB, fetch_from, tree, write


def test_a_second_pack_writes_only_the_chunks_around_each_change(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    rng = random.Random(2)
    for index in range(300):
        write(workspace / f"src/module_{index:03d}.py", rng.randbytes(rng.randrange(100, 3000)))
    write(workspace / "weights.bin", rng.randbytes(640 * KIB))
    first = pack(workspace, tmp_path / "first")

    with (workspace / "src/module_150.py").open("ab") as file:
        file.write(b"# two more KiB, so the file grows\n" * 60)
    weights = (workspace / "weights.bin").read_bytes()
    inserted = rng.randbytes(10 * KIB)
    (workspace / "weights.bin").write_bytes(weights[: 300 * KIB] + inserted + weights[300 * KIB :])
    second = pack(
        workspace,
        tmp_path / "second",
        known=first.manifest.digests,
        known_sizes=first.manifest.stored_sizes,
    )

    # What changed, and at most a chunk on either side of each change: the insertion does not move the
    # cuts after it, and the grown file does not change the chunks of the files after it.
    around_each_change = 2 * cutting.SMALL_FILES.maximum + 2 * cutting.LARGE_FILES.maximum
    assert sum(chunk.size for chunk in second.written) <= 60 * 34 + len(inserted) + around_each_change
    assert first.manifest.total_bytes > 10 * around_each_change
    assert sorted(second.staged) == sorted(chunk.digest for chunk in second.written)
    assert second.stored_bytes == sum(chunk.stored_size for chunk in second.manifest.chunks)
    expected = tree(workspace)
    restore(second.manifest, fetch_from(first, second), tmp_path / "restored")
    assert tree(tmp_path / "restored") == expected


def test_known_chunks_are_hashed_but_not_compressed_again(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pack(workspace, tmp_path / "first")
    compressed: list[int] = []
    original = chunks.compress

    def counting_compress(data: bytes, compression: Compression) -> bytes:
        compressed.append(len(data))
        return original(data, compression)

    monkeypatch.setattr(chunks, "compress", counting_compress)
    with_sizes = pack(
        workspace, tmp_path / "second", known=first.manifest.digests, known_sizes=first.manifest.stored_sizes
    )
    assert compressed == []
    assert with_sizes.written == []
    assert not (tmp_path / "second").exists() or not any((tmp_path / "second").iterdir())
    assert with_sizes.manifest.chunks == first.manifest.chunks

    # Without their sizes, known chunks are compressed to learn them, but still not written.
    without_sizes = pack(workspace, tmp_path / "third", known=set(first.manifest.digests))
    assert len(compressed) == len(first.manifest.chunks)
    assert without_sizes.written == []
    assert without_sizes.manifest.chunks == first.manifest.chunks
