"""Small files spanning several chunks, files repeating each other's content, and large files come back
byte for byte however the chunks are split into batches and lanes and however many workers restore
them; and no batch or lane separates a file written whole from one of its chunks."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dumont_agent.snapshot import Manifest, pack, restore, restore_plan
from tests.unit.agent.snapshot.conftest import KIB, fetch_from, tree, write


def make_source_tree(root: Path) -> Path:
    rng = random.Random(5)
    shared = [rng.randbytes(rng.randrange(300, 3 * KIB)) for _ in range(12)]
    for directory in range(6):
        for index in range(25):
            # Pieces of text shared between files: chunks that several files name, far apart.
            parts = [rng.choice(shared) if rng.random() < 0.4 else rng.randbytes(rng.randrange(1, 2 * KIB))]
            parts += [rng.randbytes(rng.randrange(0, 5 * KIB)) for _ in range(rng.randrange(3))]
            mode = rng.choice((0o644, 0o600, 0o755))
            write(
                root / f"dir_{directory}/file_{index:02d}.py",
                b"".join(parts),
                mode,
                1_700_000_000 * 10**9 + index,
            )
    write(root / "weights/model.pt", rng.randbytes(300 * KIB))
    write(root / "weights/copy.pt", (root / "weights/model.pt").read_bytes())
    return root


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_every_file_comes_back_whatever_the_batches_lanes_and_workers(
    workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = make_source_tree(tmp_path / "workspace")
    expected = tree(workspace)
    packed = pack(workspace, tmp_path / "staging")
    manifest = Manifest.from_bytes(packed.manifest.to_bytes())
    monkeypatch.setattr(restore_plan, "BATCH_BYTES", 6 * KIB)
    monkeypatch.setattr(restore_plan, "BATCH_CHUNKS", 3)

    restore(manifest, fetch_from(packed), tmp_path / "restored", workers=workers)

    assert tree(tmp_path / "restored") == expected


def test_no_batch_or_lane_ends_with_a_chunk_a_later_file_of_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = make_source_tree(tmp_path / "workspace")
    manifest = pack(workspace, tmp_path / "staging").manifest
    monkeypatch.setattr(restore_plan, "BATCH_CHUNKS", 2)
    made = restore_plan.plan(manifest, "/restored", 0o022)
    chunks = manifest.chunk_table
    whole_files = [
        write for writes in made.writes for write in writes if isinstance(write, restore_plan.WholeFile)
    ]
    assert any(len({number for number, _, _ in whole.parts}) > 1 for whole in whole_files), (
        "files of several chunks"
    )
    assert made.pieced, "and files naming chunks far apart, written in pieces"

    for count in (1, 2, 3, 7):
        lanes = restore_plan.lanes(chunks, made, count)
        assert sorted(number for lane in lanes for number in lane) == list(range(len(chunks)))
        assert len(lanes) <= count
        for lane in lanes:
            assert not made.held[lane[-1]]
            batches = list(restore_plan.batches(chunks, lane, made))
            assert [number for batch in batches for number, _, _ in batch] == lane
            assert lane == sorted(lane)
            for batch in batches:
                numbers = {number for number, _, _ in batch}
                assert not made.held[batch[-1][0]]
                for _, _, writes in batch:
                    for item in writes:
                        if isinstance(item, restore_plan.WholeFile):
                            assert {number for number, _, _ in item.parts} <= numbers
