"""Chunks are cut where the content says: the same bytes fed in any parts are cut the same way, and an
insertion changes only the chunks around it."""

from __future__ import annotations

import random

from dumont_agent.snapshot import ChunkSizes
from dumont_agent.snapshot.cutting import CutStream

KIB = 1024
SIZES = ChunkSizes(average=4 * KIB, minimum=KIB, maximum=16 * KIB)


def cut(data: bytes, part: int) -> list[tuple[int, bytes]]:
    stream = CutStream(SIZES, largest_part=part)
    chunks = []
    for offset in range(0, len(data), part):
        chunks += stream.feed(data[offset : offset + part])
    chunks += stream.finish()
    return chunks


def test_a_stream_fed_in_parts_is_cut_as_if_whole() -> None:
    data = random.Random(4).randbytes(700 * KIB)

    whole = cut(data, len(data))

    assert b"".join(chunk for _, chunk in whole) == data
    assert [start for start, _ in whole] == [sum(len(c) for _, c in whole[:i]) for i in range(len(whole))]
    assert len(whole) > 2, "enough data for chunks between the bounds"
    assert all(SIZES.minimum <= len(chunk) <= SIZES.maximum for _, chunk in whole[:-1])
    for part in (1000, 16 * KIB, 100 * KIB + 7):
        assert cut(data, part) == whole


def test_an_insertion_changes_only_the_chunks_around_it() -> None:
    rng = random.Random(5)
    data = rng.randbytes(600 * KIB)
    edited = data[: 300 * KIB] + rng.randbytes(3 * KIB) + data[300 * KIB :]

    before = {chunk for _, chunk in cut(data, 64 * KIB)}
    after = [chunk for _, chunk in cut(edited, 64 * KIB)]

    new = [chunk for chunk in after if chunk not in before]
    assert sum(map(len, new)) <= 3 * KIB + 2 * SIZES.maximum
    assert len(after) > 50
