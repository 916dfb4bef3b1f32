"""Running chunk work on a pool of threads with a bound on what waits, so memory stays flat however
large the workspace. Hashing and LZ4 release the GIL, so the threads run on every core."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import Any

CHUNKS_IN_FLIGHT_PER_WORKER = 2
HANDOVER_SECONDS = 0.001
"""How long a thread running Python keeps the GIL from one that waits for it, while chunks are worked on
(Python's default is 5 ms)."""


@contextlib.contextmanager
def quick_handovers() -> Iterator[None]:
    """The GIL handed over after `HANDOVER_SECONDS` instead of Python's 5 ms, for the time of the block.
    The thread that reads and cuts gives the GIL up at each system call (a stat, an open, a read: five a
    file) and waited up to 5 ms to get it back from a worker between its hashing and compressing, while
    the workers waited for its chunks: packing 1 GiB took some 12% longer."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, HANDOVER_SECONDS))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


class Pipeline:
    """A thread pool that holds at most `tasks_per_worker` tasks per worker submitted and not yet finished:
    `submit` waits for room, which bounds the memory the tasks hold however large the workspace is.

    Leaving it as a context cancels what has not started and waits for what has, so nothing a task
    writes happens after the `with` block, however it ended.
    """

    def __init__(self, workers: int | None, tasks_per_worker: int, name: str) -> None:
        count = workers if workers is not None else os.cpu_count() or 1
        if count < 1:
            raise ValueError(f"workers must be at least 1, not {count}")
        self.workers = count
        self._executor = ThreadPoolExecutor(max_workers=count, thread_name_prefix=name)
        self._limit = tasks_per_worker * count
        self._pending: set[Future[None]] = set()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, function: Callable[..., None], *args: Any) -> None:
        while len(self._pending) >= self._limit:
            self._collect(FIRST_COMPLETED)
        self._pending.add(self._executor.submit(function, *args))

    def finish(self) -> None:
        """Wait for every task; raise the first error among them."""
        self._collect(ALL_COMPLETED)

    def _collect(self, return_when: str) -> None:
        done, self._pending = wait(self._pending, return_when=return_when)
        for future in done:
            future.result()
