"""The agent uploads a snapshot's chunks while it packs: a batch is planned and uploaded as soon as it is
staged, every chunk is pinned before it is uploaded, and the manifest's pieces come last."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from dumont_agent.snapshot import ChunkRef, Manifest, StagedFrame, pack, split_manifest
from dumont_agent.uploading import BatchedUploads
from tests.unit.agent.snapshot.conftest import tree

WAIT_SECONDS = 30


class FakeApi:
    """The snapshot API and S3 as the agent sees them: plans, and uploads to the URLs they hand out."""

    def __init__(self, stored: set[str] | None = None) -> None:
        self.stored: dict[str, bytes] = dict.fromkeys(stored or set(), b"")
        self.pinned: list[str] = []
        self.plans: list[tuple[list[str], bool]] = []
        self.planned = threading.Event()
        self.lock = threading.Lock()

    def plan_uploads(
        self, snapshot_id: str, chunks: list[dict[str, Any]], *, append: bool = False
    ) -> dict[str, Any]:
        digests = [chunk["digest"] for chunk in chunks]
        with self.lock:
            self.pinned = [*self.pinned, *digests] if append else digests
            self.plans.append((digests, append))
            uploads = {digest: f"put:{digest}" for digest in digests if digest not in self.stored}
        self.planned.set()
        return {"uploads": uploads, "manifest_url": "put:manifest"}

    def put(self, url: str, content: bytes) -> None:
        digest = url.removeprefix("put:")
        with self.lock:
            assert digest in self.pinned, "a chunk is uploaded before the snapshot pins it"
            self.stored[digest] = content


def test_chunks_are_planned_and_uploaded_while_packing_goes_on(workspace: Path, tmp_path: Path) -> None:
    api = FakeApi()
    seen: list[ChunkRef] = []
    planned_while_packing = []

    with BatchedUploads(api, "snap_1", workers=2, batch_chunks=4) as uploads:

        def listener(ref: ChunkRef, staged: StagedFrame | None) -> None:
            uploads.chunk(ref, staged)
            seen.append(ref)
            if len(seen) == 8:  # packing holds here until the first batch has been planned
                planned_while_packing.append(api.planned.wait(WAIT_SECONDS))

        packed = pack(workspace, tmp_path / "staging", workers=1, listener=listener)
        pieced = split_manifest(packed.manifest)
        finished = uploads.finish([(piece.ref, piece.frame) for piece in pieced.pieces])

    assert planned_while_packing == [True]
    assert len(api.plans) > 2
    assert [append for _, append in api.plans] == [False] + [True] * (len(api.plans) - 1)
    assert api.pinned == [*(ref.digest for ref in seen), *(piece.ref.digest for piece in pieced.pieces)]
    assert finished.lacking == frozenset()
    assert finished.manifest_url == "put:manifest"
    assert finished.uploaded_bytes == sum(len(frame) for frame in api.stored.values())
    # What was uploaded restores the workspace.
    manifest = Manifest.from_bytes(pieced.document, api.stored.__getitem__)
    assert set(manifest.digests) == set(packed.manifest.digests)
    assert set(api.stored) == {*packed.manifest.digests, *(piece.ref.digest for piece in pieced.pieces)}
    assert tree(workspace)  # the workspace is untouched


def test_a_chunk_taken_for_stored_that_s3_lacks_is_reported(workspace: Path, tmp_path: Path) -> None:
    first = pack(workspace, tmp_path / "first")
    swept = first.manifest.digests[0]
    api = FakeApi(stored=set(first.manifest.digests) - {swept})

    with BatchedUploads(api, "snap_2", workers=2) as uploads:
        pack(
            workspace,
            tmp_path / "second",
            known=first.manifest.digests,
            known_sizes=first.manifest.stored_sizes,
            listener=uploads.chunk,
        )
        finished = uploads.finish([])

    assert finished.lacking == {swept}


def test_a_failed_upload_fails_the_snapshot_and_stops_every_thread(workspace: Path, tmp_path: Path) -> None:
    class LostNetwork(FakeApi):
        def put(self, url: str, content: bytes) -> None:
            raise OSError("the network is gone")

    threads_before = set(threading.enumerate())
    with BatchedUploads(LostNetwork(), "snap_3", workers=2, batch_chunks=4) as uploads:
        pack(workspace, tmp_path / "staging", listener=uploads.chunk)
        with pytest.raises(OSError, match="network is gone"):
            uploads.finish([])

    assert set(threading.enumerate()) <= threads_before
