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
SMALL_FILES = ChunkSizes(average=4 * 1024, minimum=1024, maximum=16 * 1024)
"""About 8 KiB a chunk: a changed small file rewrites about that much, where chunks of 20 KiB, compressed
with LZ4, made an edit of 1% of the bench's files write more than restic does."""
CUT_AFTER_MAXIMUMS = 8
"""Bytes are cut once this many maximum-sized chunks wait: fewer, larger calls into the cutter."""


class CutStream:
    """Cuts a stream given in parts exactly as if it were cut whole: a chunk is given out only once all
    the bytes its cut depends on (up to `maximum` past its start) are there, or the stream ended.

    The parts are read straight into its buffer (`room`, then `filled`), which is allocated once and
    holds under `cut_after_maximums` maximum-sized chunks plus one part; `restart` begins a new stream in
    the same buffer.
    """

    def __init__(
        self,
        sizes: ChunkSizes,
        largest_part: int,
        *,
        views: bool = False,
        cut_after_maximums: int = CUT_AFTER_MAXIMUMS,
    ) -> None:
        self._cutter = FastCDC(sizes.average, min_size=sizes.minimum, max_size=sizes.maximum)
        self._maximum = sizes.maximum
        self._views = views
        """Chunks given as views of the buffer, valid until the next is asked for, instead of copies: for
        a thread that is done with each chunk before it asks for the next."""
        self._cut_at = cut_after_maximums * sizes.maximum
        # After a cut, less than `maximum` is left (the chunks cut are all those that could be).
        self._buffer = bytearray(self._cut_at + largest_part)
        self._filled = 0
        self._start = 0
        """Where `_buffer` starts in the stream."""

    @property
    def position(self) -> int:
        """Bytes given so far: where the next byte starts in the stream."""
        return self._start + self._filled

    def restart(self) -> None:
        self._filled = self._start = 0

    def room(self, size: int) -> memoryview:
        """Where to put the next `size` bytes of the stream (at most the `largest_part`); then `filled`."""
        return memoryview(self._buffer)[self._filled : self._filled + size]

    def filled(self, size: int) -> Iterator[tuple[int, bytes | memoryview]]:
        """The chunks complete once `size` more bytes are in `room`: each its start in the stream and its
        bytes."""
        self._filled += size
        if self._filled >= self._cut_at:
            yield from self._cut(final=False)

    def feed(self, data: bytes | bytearray | memoryview) -> Iterator[tuple[int, bytes | memoryview]]:
        size = len(data)
        self.room(size)[:] = data
        yield from self.filled(size)

    def finish(self) -> Iterator[tuple[int, bytes | memoryview]]:
        """The chunks left at the end of the stream."""
        yield from self._cut(final=True)

    def _cut(self, final: bool) -> Iterator[tuple[int, bytes | memoryview]]:
        filled = self._filled
        with memoryview(self._buffer) as buffer, buffer[:filled] as view:
            cuts = [(chunk.offset, chunk.length) for chunk in self._cutter.cut_buf(view)]
            if not final:
                # A cut less than `maximum` before the end might fall elsewhere once more bytes come.
                cuts = [(offset, length) for offset, length in cuts if offset + self._maximum <= filled]
            start = self._start
            chunks: list[tuple[int, bytes | memoryview]] = []
            if self._views:
                for offset, length in cuts:
                    with view[offset : offset + length] as chunk:
                        yield start + offset, chunk
            else:
                chunks = [(start + offset, bytes(view[offset : offset + length])) for offset, length in cuts]
            done = cuts[-1][0] + cuts[-1][1] if cuts else 0
            buffer[: filled - done] = buffer[done:filled]
        self._filled = filled - done
        self._start += done
        yield from chunks
