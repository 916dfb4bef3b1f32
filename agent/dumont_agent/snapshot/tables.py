"""A manifest's chunks and entries held in columns: a workspace of 10 GiB has some 190,000 files and
470,000 chunks, and an object for each (a `ChunkRef` with its hex digest, an `Entry` with its spans) costs
about 250 bytes a chunk and 500 a file, more than packing itself holds. Here a chunk costs 48 bytes (its
raw digest and two sizes) and a file its path and about 50 bytes; a `ChunkRef` or an `Entry` is made when
one is read.

Both are sequences, equal to any sequence of the same items, so a manifest built from lists (as the
tests build them) reads and compares the same.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TypeVar, overload

from dumont_agent.snapshot.digest_index import DIGEST_BYTES, DigestIndex, raw_digest
from dumont_agent.snapshot.errors import SnapshotError
from dumont_agent.snapshot.items import (
    DIRECTORY,
    FILE,
    MAX_CHUNK_BYTES,
    SYMLINK,
    ChunkRef,
    Entry,
    EntryKind,
    Span,
)

_KINDS: tuple[EntryKind, ...] = (DIRECTORY, FILE, SYMLINK)
_KIND_NUMBERS = {kind: number for number, kind in enumerate(_KINDS)}
_FILE_NUMBER = _KIND_NUMBERS[FILE]
T = TypeVar("T")


class _Items(Sequence[T]):
    """A sequence whose items are made when read (`_item`), equal to any sequence of equal items in order:
    a table or a list."""

    __hash__ = None  # type: ignore[assignment]

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def _item(self, number: int) -> T: ...

    @overload
    def __getitem__(self, number: int) -> T: ...
    @overload
    def __getitem__(self, number: slice) -> list[T]: ...
    def __getitem__(self, number: int | slice) -> T | list[T]:
        if isinstance(number, slice):
            return [self._item(index) for index in range(*number.indices(len(self)))]
        if number < 0:
            number += len(self)
        if not 0 <= number < len(self):
            raise IndexError(f"item {number} of {len(self)}")
        return self._item(number)

    def __iter__(self) -> Iterator[T]:
        return map(self._item, range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))


class ChunkTable(_Items[ChunkRef]):
    """A manifest's chunks, each once, numbered in the order they were added."""

    def __init__(self, chunks: Iterable[ChunkRef] = ()) -> None:
        self._digests = bytearray()
        self._sizes = array("q")
        self._stored_sizes = array("q")
        self._index: DigestIndex | None = None
        """Made when a digest is first looked up: a manifest only read in order never needs it."""
        self._indexing = threading.Lock()
        for chunk in chunks:
            self.append(chunk)

    def append(self, chunk: ChunkRef) -> int:
        """Add a chunk read from a manifest, checked: its number. SnapshotError for a malformed digest, a
        chunk listed twice or an impossible size."""
        raw = raw_digest(chunk.digest)
        if self.find(raw) >= 0:
            raise SnapshotError(f"manifest refused: chunk {chunk.digest} is listed twice")
        return self._add_checked(raw, chunk.digest, chunk.size, chunk.stored_size)

    def named(self, digest: str, size: int, stored_size: int) -> int:
        """The number of the chunk `digest` names, added (checked as `append` checks it) when it is new.
        SnapshotError when it is malformed, or known with other sizes."""
        raw = raw_digest(digest)
        number = self.find(raw)
        if number < 0:
            return self._add_checked(raw, digest, size, stored_size)
        self.check_sizes(number, size, stored_size)
        return number

    def check_sizes(self, number: int, size: int, stored_size: int) -> None:
        """SnapshotError unless chunk `number` has these sizes: a manifest naming it again says the same."""
        if self._sizes[number] != size or self._stored_sizes[number] != stored_size:
            raise SnapshotError(f"manifest refused: chunk {self.digest(number)} is given two sizes")

    def _add_checked(self, raw: bytes, digest: str, size: int, stored_size: int) -> int:
        if not 0 < size <= MAX_CHUNK_BYTES or stored_size < 0:
            raise SnapshotError(f"manifest refused: chunk {digest} has an impossible size {size}")
        return self.add(raw, size, stored_size)

    def add(self, raw: bytes, size: int, stored_size: int) -> int:
        """Add a chunk known to be new (as packing knows it): its number."""
        number = len(self._sizes)
        self._digests += raw
        self._sizes.append(size)
        self._stored_sizes.append(stored_size)
        if self._index is not None:
            self._index.add(number, raw)
        return number

    def find(self, raw: bytes) -> int:
        """The number of the chunk whose raw digest is `raw`, or -1."""
        index = self._index
        if index is None:
            with self._indexing:  # packing's workers look up a previous manifest's digests at once
                if self._index is None:
                    self._index = DigestIndex(self._digests, len(self._sizes))
                index = self._index
        return index.find(raw)

    def number_of(self, digest: str) -> int:
        """The number of the chunk named `digest` (hex), or -1."""
        if len(digest) != 2 * DIGEST_BYTES:
            return -1
        try:
            return self.find(bytes.fromhex(digest))
        except ValueError:
            return -1

    def raw(self, number: int) -> bytes:
        return bytes(self._digests[number * DIGEST_BYTES : (number + 1) * DIGEST_BYTES])

    def digest(self, number: int) -> str:
        return self._digests[number * DIGEST_BYTES : (number + 1) * DIGEST_BYTES].hex()

    def size(self, number: int) -> int:
        return self._sizes[number]

    def stored_size(self, number: int) -> int:
        return self._stored_sizes[number]

    def set_stored_size(self, number: int, stored_size: int) -> None:
        """Once it is known: packing learns it after the chunk is numbered."""
        self._stored_sizes[number] = stored_size

    @property
    def total_stored_bytes(self) -> int:
        return sum(self._stored_sizes)

    def __len__(self) -> int:
        return len(self._sizes)

    def _item(self, number: int) -> ChunkRef:
        return ChunkRef(self.digest(number), self._sizes[number], self._stored_sizes[number])

    def __contains__(self, chunk: object) -> bool:
        if not isinstance(chunk, ChunkRef):
            return False
        number = self.number_of(chunk.digest)
        return number >= 0 and self[number] == chunk

    @property
    def digests(self) -> Digests:
        return Digests(self)

    @property
    def stored_sizes(self) -> StoredSizes:
        return StoredSizes(self)


class ChunkSelection(_Items[ChunkRef]):
    """Some of a table's chunks, by number, in the order of `numbers`."""

    def __init__(self, table: ChunkTable, numbers: Sequence[int]) -> None:
        self._table = table
        self._numbers = numbers

    def __len__(self) -> int:
        return len(self._numbers)

    def _item(self, number: int) -> ChunkRef:
        return self._table[self._numbers[number]]


class Digests(_Items[str]):
    """A table's digests (hex), in order; `in` looks one up without a set of them all."""

    def __init__(self, table: ChunkTable) -> None:
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def _item(self, number: int) -> str:
        return self._table.digest(number)

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, str) and self._table.number_of(digest) >= 0


class StoredSizes(Mapping[str, int]):
    """A table's stored size of each chunk, by digest (hex)."""

    def __init__(self, table: ChunkTable) -> None:
        self._table = table

    def __getitem__(self, digest: str) -> int:
        number = self._table.number_of(digest) if isinstance(digest, str) else -1
        if number < 0:
            raise KeyError(digest)
        return self._table.stored_size(number)

    def __iter__(self) -> Iterator[str]:
        return iter(self._table.digests)

    def __len__(self) -> int:
        return len(self._table)


EntryRow = tuple[EntryKind, str, int, int, int, str, Iterator[tuple[int, int, int]]]
"""An entry's kind, path, mode, mtime_ns, size, target and spans."""


class EntryTable(_Items[Entry]):
    """A manifest's entries, in order. A file's spans are three integers each in arrays shared by all the
    files; `fill_spans` gives every file its spans at once, once packing knows its chunks."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._paths: list[str] = []
        self._kinds = bytearray()
        self._modes = array("i")
        self._mtimes = array("q")
        self._sizes = array("q")
        self._targets: dict[int, str] = {}
        self._span_ends = array("q")
        """Where each entry's spans end in the span arrays: entry i's are from entry i-1's end to its own."""
        self._span_chunks = array("i")
        self._span_offsets = array("q")
        self._span_lengths = array("q")
        for entry in entries:
            self.append(entry)

    def append(self, entry: Entry) -> None:
        self.add(entry.path, entry.kind, entry.mode, entry.mtime_ns, entry.size, entry.target, entry.spans)

    def add(
        self,
        path: str,
        kind: EntryKind,
        mode: int,
        mtime_ns: int,
        size: int = 0,
        target: str = "",
        spans: Iterable[Sequence[int]] = (),
    ) -> None:
        number = len(self._paths)
        self._kinds.append(_KIND_NUMBERS[kind])
        self._paths.append(path)
        self._modes.append(mode)
        self._mtimes.append(mtime_ns)
        self._sizes.append(size)
        if target:
            self._targets[number] = target
        for chunk, offset, length in spans:
            self._span_chunks.append(chunk)
            self._span_offsets.append(offset)
            self._span_lengths.append(length)
        self._span_ends.append(len(self._span_chunks))

    def fill_spans(self, spans_of_files: Iterator[Iterable[Sequence[int]]]) -> None:
        """Give the files, in order, the spans `spans_of_files` yields, one sequence a file; the entries
        must have none yet."""
        if self._span_chunks:
            raise ValueError("the entries already have spans")
        for number, kind in enumerate(self._kinds):
            if kind == _FILE_NUMBER:
                for chunk, offset, length in next(spans_of_files):
                    self._span_chunks.append(chunk)
                    self._span_offsets.append(offset)
                    self._span_lengths.append(length)
            self._span_ends[number] = len(self._span_chunks)

    def rows(self) -> Iterator[EntryRow]:
        """Every entry as a plain tuple, its spans as (chunk, offset, length) triples: what writing the
        entries needs, without an `Entry` and its `Span`s made for each."""
        ends, chunks, offsets, lengths = (
            self._span_ends,
            self._span_chunks,
            self._span_offsets,
            self._span_lengths,
        )
        modes, mtimes, sizes, targets = self._modes, self._mtimes, self._sizes, self._targets
        start = 0
        for number, (kind, path) in enumerate(zip(self._kinds, self._paths, strict=True)):
            end = ends[number]
            spans = zip(chunks[start:end], offsets[start:end], lengths[start:end], strict=True)
            target = targets.get(number, "")
            yield _KINDS[kind], path, modes[number], mtimes[number], sizes[number], target, spans
            start = end

    def file_totals(self) -> tuple[int, int]:
        """How many files, and their bytes."""
        count = total = 0
        for kind, size in zip(self._kinds, self._sizes, strict=True):
            if kind == _FILE_NUMBER:
                count += 1
                total += size
        return count, total

    def __len__(self) -> int:
        return len(self._paths)

    def _item(self, number: int) -> Entry:
        start = self._span_ends[number - 1] if number else 0
        end = self._span_ends[number]
        spans = tuple(
            Span(self._span_chunks[index], self._span_offsets[index], self._span_lengths[index])
            for index in range(start, end)
        )
        return Entry(
            self._paths[number],
            _KINDS[self._kinds[number]],
            self._modes[number],
            self._mtimes[number],
            self._sizes[number],
            self._targets.get(number, ""),
            spans,
        )


def entry_rows(entries: Sequence[Entry]) -> Iterator[EntryRow]:
    """Every entry as a row: a table's read from its columns, any other sequence's from its entries."""
    if isinstance(entries, EntryTable):
        return entries.rows()
    # A span is a (chunk, offset, length) tuple already.
    return (
        (entry.kind, entry.path, entry.mode, entry.mtime_ns, entry.size, entry.target, iter(entry.spans))
        for entry in entries
    )
