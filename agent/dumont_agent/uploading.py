"""A snapshot's chunks uploaded while it is still being packed.

Packing tells `BatchedUploads.chunk` of each distinct chunk as soon as its frame is staged. A planning
thread gathers them in batches of `PLAN_BATCH_CHUNKS` and asks the API which of each batch S3 lacks
(the first batch replaces whatever an earlier try of the snapshot planned, the others are appended); the
answer's uploads start at once on the upload threads while packing goes on. The API stores each batch's
digests before it answers, so a sweep never takes a chunk the snapshot counts on, as when the whole list
was planned at once. `finish` plans the manifest's pieces, waits for every upload, and says which
chunks S3 lacks that this machine took for stored (`Finished.lacking`).

Memory: the queue and the batches hold references, not frames; each upload reads its frame from its
segment file when it starts.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from dumont_agent.snapshot import ChunkRef, StagedFrame

PLAN_BATCH_CHUNKS = 2_000
"""Chunks a plan asks about: some 50 MiB of large-file chunks, or 16 MiB of small files'. Each plan
costs the API a listing of the team's chunks, so much smaller batches would cost it more than they
save in waiting."""


class UploadClient(Protocol):
    def plan_uploads(
        self, snapshot_id: str, chunks: list[dict[str, Any]], *, append: bool = False
    ) -> dict[str, Any]: ...

    def put(self, url: str, content: bytes) -> None: ...


@dataclass(frozen=True)
class Finished:
    manifest_url: str
    uploaded_bytes: int
    lacking: frozenset[str]
    """Chunks S3 lacks that this machine took for stored (they were swept), so it did not stage them."""


_Item = tuple[ChunkRef, Callable[[], bytes] | None]


class BatchedUploads:
    """Plans and uploads the chunks `chunk` is told of, a batch at a time, on threads of its own; use
    it as a context, which stops them however it ends."""

    def __init__(
        self,
        client: UploadClient,
        snapshot_id: str,
        workers: int,
        batch_chunks: int = PLAN_BATCH_CHUNKS,
    ) -> None:
        self._client = client
        self._snapshot_id = snapshot_id
        self._batch_chunks = batch_chunks
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._uploads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="snapshot-upload")
        self._planner = threading.Thread(target=self._plan_all, name="snapshot-plan", daemon=True)
        self._futures: list[Future[int]] = []
        self._failed = threading.Event()
        self._errors: list[BaseException] = []
        self._planned = False
        self._manifest_url = ""
        self._lacking: set[str] = set()

    def __enter__(self) -> BatchedUploads:
        self._planner.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if error is not None:
            self._failed.set()
        self._stop_planning()
        self._uploads.shutdown(wait=True, cancel_futures=True)

    def chunk(self, ref: ChunkRef, staged: StagedFrame | None) -> None:
        """A chunk of the snapshot, its frame staged (None: this machine takes it for stored already)."""
        self._queue.put((ref, None if staged is None else staged.read))

    def finish(self, pieces: list[tuple[ChunkRef, bytes]]) -> Finished:
        """Plan and upload the manifest's `pieces` after the chunks; wait for every upload. Raises the
        first error a plan or an upload met."""
        for ref, frame in pieces:
            self._queue.put((ref, _held(frame)))
        self._stop_planning()
        for future in self._futures:
            if not future.cancelled():
                future.exception()  # waits
        if self._errors:
            raise self._errors[0]
        uploaded = sum(future.result() for future in self._futures if not future.cancelled())
        return Finished(self._manifest_url, uploaded, frozenset(self._lacking))

    def _stop_planning(self) -> None:
        if self._planner.is_alive():
            self._queue.put(None)
            self._planner.join()

    def _plan_all(self) -> None:
        batch: list[_Item] = []
        while (item := self._queue.get()) is not None:
            batch.append(item)
            if len(batch) >= self._batch_chunks:
                self._plan(batch)
                batch = []
        if batch or not self._planned:
            self._plan(batch)

    def _plan(self, batch: list[_Item]) -> None:
        if self._failed.is_set():
            return
        chunks = [
            {"digest": ref.digest, "size": ref.size, "stored_size": ref.stored_size} for ref, _ in batch
        ]
        try:
            plan = self._client.plan_uploads(self._snapshot_id, chunks, append=self._planned)
        except BaseException as error:
            self._fail(error)
            return
        self._planned = True
        self._manifest_url = str(plan["manifest_url"])
        wanted: dict[str, str] = plan["uploads"]
        for ref, read in batch:
            url = wanted.get(ref.digest)
            if url is None:
                continue
            if read is None:
                self._lacking.add(ref.digest)
            else:
                self._futures.append(self._uploads.submit(self._upload, url, read))

    def _upload(self, url: str, read: Callable[[], bytes]) -> int:
        # One failed upload fails the snapshot: the chunks not started yet are not tried, each of which
        # would otherwise spend its retries against a network that is gone, past the workflow's timeout.
        if self._failed.is_set():
            return 0
        try:
            frame = read()
            self._client.put(url, frame)
        except BaseException as error:
            self._fail(error)
            return 0
        return len(frame)

    def _fail(self, error: BaseException) -> None:
        self._errors.append(error)
        self._failed.set()


def _held(frame: bytes) -> Callable[[], bytes]:
    return lambda: frame
