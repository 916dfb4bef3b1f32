"""Content-defined chunks: a stream of bytes cut where its content says (FastCDC), so an edit or an
insertion changes only the chunks around it, and the cuts after it fall where they fell before.

Two kinds of stream are cut, with their own sizes:

- each large file on its own (`LARGE_FILES`): a file's first chunk starts with it;
- the small files of the workspace, in walk order, their contents one after the other (`SMALL_FILES`):
  a workspace of many tiny files makes chunks of many files each, and a changed file changes the chunk
  or two that hold it, not the others.

The cutting itself is pyfastcdc's compiled loop, which runs without the GIL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from pyfastcdc import FastCDC


class ChunkSizes(NamedTuple):
    """FastCDC's sizes. Chunks average about `average + minimum` bytes; none is over `maximum`, and only
    a stream's last chunk is under `minimum`."""

    average: int
    minimum: int
    maximum: int


LARGE_FILES = ChunkSizes(average=512 * 1024, minimum=128 * 1024, maximum=2 * 1024 * 1024)
SMALL_FILES = ChunkSizes(average=16 * 1024, minimum=4 * 1024, maximum=64 * 1024)
_CUT_AFTER_MAXIMUMS = 8
"""Bytes are cut once this many maximum-sized chunks wait: fewer, larger calls into the cutter."""


class CutStream:
    """Cuts a stream fed in parts exactly as if it were cut whole: a chunk is given out only once all
    the bytes its cut depends on (up to `maximum` past its start) have been fed, or the stream ended."""

    def __init__(self, sizes: ChunkSizes) -> None:
        self._cutter = FastCDC(sizes.average, min_size=sizes.minimum, max_size=sizes.maximum)
        self._maximum = sizes.maximum
        self._pending = bytearray()
        self._pending_start = 0
        """Where `_pending` starts in the stream."""

    @property
    def position(self) -> int:
        """Bytes fed so far: where the next byte fed starts in the stream."""
        return self._pending_start + len(self._pending)

    def feed(self, data: bytes | bytearray | memoryview) -> Iterator[tuple[int, bytes]]:
        """The chunks complete with `data`: each its start in the stream and its bytes."""
        self._pending += data
        if len(self._pending) >= _CUT_AFTER_MAXIMUMS * self._maximum:
            yield from self._cut(final=False)

    def finish(self) -> Iterator[tuple[int, bytes]]:
        """The chunks left at the end of the stream."""
        yield from self._cut(final=True)

    def _cut(self, final: bool) -> Iterator[tuple[int, bytes]]:
        size = len(self._pending)
        with memoryview(self._pending) as view:
            cuts = [(chunk.offset, chunk.length) for chunk in self._cutter.cut_buf(view)]
            if not final:
                # A cut less than `maximum` before the end might fall elsewhere once more bytes come.
                cuts = [(offset, length) for offset, length in cuts if offset + self._maximum <= size]
            start = self._pending_start
            chunks = [(start + offset, bytes(view[offset : offset + length])) for offset, length in cuts]
        done = cuts[-1][0] + cuts[-1][1] if cuts else 0
        del self._pending[:done]
        self._pending_start += done
        yield from chunks
