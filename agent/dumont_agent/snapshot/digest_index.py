"""Raw SHA-256 digests: read from a manifest's hex, checked, and found again by number in a compact
index (`ChunkTable` keeps its chunks' digests in one bytearray)."""

from __future__ import annotations

import contextlib
from array import array

from dumont_agent.snapshot.errors import SnapshotError

DIGEST_BYTES = 32
"""A SHA-256 digest, raw."""


class DigestIndex:
    """The number of each raw digest of a table, found by open addressing: 4 bytes a slot, at most half of
    the slots used, where a dict of `bytes` costs some 120 bytes a digest. SHA-256 digests are uniform,
    so their first 8 bytes place them well."""

    def __init__(self, digests: bytearray, count: int) -> None:
        self._digests = digests
        size = 1024
        while size < 2 * count:
            size *= 2
        self._slots = array("i", bytes(4 * size))
        self._mask = size - 1
        self._count = 0
        for number in range(count):
            self.add(number, bytes(digests[number * DIGEST_BYTES : (number + 1) * DIGEST_BYTES]))

    def find(self, raw: bytes) -> int:
        """The number of `raw`, or -1."""
        slots, mask, digests = self._slots, self._mask, self._digests
        position = int.from_bytes(raw[:8], "little") & mask
        while True:
            number = slots[position] - 1
            if number < 0:
                return -1
            start = number * DIGEST_BYTES
            if digests[start : start + DIGEST_BYTES] == raw:
                return number
            position = (position + 1) & mask

    def add(self, number: int, raw: bytes) -> None:
        """Index `raw` (already in the digests) as `number`; it must not be indexed yet."""
        self._count += 1
        if 2 * self._count > len(self._slots):
            self._grow()
        slots, mask = self._slots, self._mask
        position = int.from_bytes(raw[:8], "little") & mask
        while slots[position]:
            position = (position + 1) & mask
        slots[position] = number + 1

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("i", bytes(8 * len(old)))
        self._mask = len(self._slots) - 1
        digests, slots, mask = self._digests, self._slots, self._mask
        for stored in old:
            if stored:
                start = (stored - 1) * DIGEST_BYTES
                position = int.from_bytes(digests[start : start + 8], "little") & mask
                while slots[position]:
                    position = (position + 1) & mask
                slots[position] = stored


def raw_digest(digest: str) -> bytes:
    """The raw bytes of a lowercase SHA-256 hex digest; SnapshotError for anything else."""
    raw = b""
    if len(digest) == 2 * DIGEST_BYTES:
        with contextlib.suppress(ValueError):
            raw = bytes.fromhex(digest)
    # Written back, it must be the digest itself: `fromhex` also takes capitals and spaces.
    if len(raw) != DIGEST_BYTES or raw.hex() != digest:
        raise SnapshotError(f"manifest refused: {digest!r} is not a SHA-256 hex digest")
    return raw
