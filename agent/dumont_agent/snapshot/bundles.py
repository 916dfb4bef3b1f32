"""Bundles: the small files of a workspace, consecutive in walk order, as one uncompressed tar stream.

A bundle ends after a file whose path hashes below `BUNDLE_BOUNDARY_BELOW` (about 1 file in 32), or once
it holds `BUNDLE_TARGET_BYTES`. Ending bundles where the paths say, not where a byte count falls, keeps
the bundles after a changed file identical, so a second snapshot uploads only the changed bundle.

Any tar reader can list and extract a bundle; the manifest, not the tar headers, holds each file's mode
and mtime, and where in the bundle its content starts.
"""

from __future__ import annotations

import hashlib
import tarfile
from typing import NamedTuple

from dumont_agent.snapshot.reading import Identity, read_unchanged

BUNDLE_TARGET_BYTES = 4 * 1024 * 1024
BUNDLE_BOUNDARY_BELOW = 8
"""A bundle ends after a file whose sha256(path) starts with a byte below this: 8/256, 1 file in 32."""

_TAR_BLOCK = 512
_END_OF_ARCHIVE = bytes(2 * _TAR_BLOCK)


class _Member(NamedTuple):
    path: str
    relative: str
    identity: Identity
    header: bytes
    data_offset: int
    """Where the file's content starts in the bundle."""


class OpenBundle:
    """The bundle being filled: its files' tar headers and offsets are laid out as they are added, and
    their contents read once it is complete."""

    def __init__(self) -> None:
        self._members: list[_Member] = []
        self._size = 0
        """Bytes of the tar stream so far, without its end-of-archive blocks."""

    @property
    def empty(self) -> bool:
        return not self._members

    def add(self, path: str, relative: str, identity: Identity, mode: int) -> tuple[int, bool]:
        """Lay out a file that is not empty (its size is `identity[2]`): where its content starts in the
        bundle, and whether the bundle is complete with it."""
        size = identity[2]
        header = tar_header(relative, size, mode)
        data_offset = self._size + len(header)
        self._members.append(_Member(path, relative, identity, header, data_offset))
        self._size = data_offset + size + (-size % _TAR_BLOCK)
        return data_offset, _ends_bundle(relative) or self._size >= BUNDLE_TARGET_BYTES

    def read(self) -> bytearray:
        """The tar stream: headers, contents and padding, then the end of archive.

        This runs on the thread that walks, not on the workers: small files cost a handful of system
        calls each, and a worker going back and forth between them and the GIL would wait on the others
        for every one. The workers get the work that runs without the GIL: hashing, compressing, writing.
        """
        # Zeros: the padding and the end of archive are ready.
        bundle = bytearray(self._size + len(_END_OF_ARCHIVE))
        view = memoryview(bundle)
        for path, relative, identity, header, data_offset in self._members:
            view[data_offset - len(header) : data_offset] = header
            read_unchanged(path, relative, identity, view[data_offset : data_offset + identity[2]], 0)
        return bundle


def _ends_bundle(relative: str) -> bool:
    return hashlib.sha256(relative.encode("utf-8", "surrogateescape")).digest()[0] < BUNDLE_BOUNDARY_BELOW


def tar_header(name: str, size: int, mode: int) -> bytes:
    """The tar header of a regular file in a bundle: owner and mtime are zero, because the manifest holds
    the metadata and a file that was only touched should not change its bundle.

    Plain ustar when the name fits (what tarfile writes, without its per-call overhead), else PAX.
    """
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) <= 100 and encoded.isascii() and size < 8**11:
        mode_field = b"%07o\0" % mode
        size_field = b"%011o\0" % size
        checksum = _USTAR_CONSTANT_SUM + sum(encoded) + sum(mode_field) + sum(size_field)
        return b"".join(
            (
                encoded,
                bytes(100 - len(encoded)),
                mode_field,
                _USTAR_OWNER,
                size_field,
                _USTAR_MTIME,
                b"%06o\0 " % checksum,
                _USTAR_REST,
            )
        )
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, 0
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


# The fields of a ustar header (offsets 0-512) that are the same for every file of a bundle.
_USTAR_OWNER = b"0000000\0" * 2  # uid and gid, 108-124
_USTAR_MTIME = b"00000000000\0"  # 136-148
# 156-512: type, link name, magic and version; the rest (user and group names, device, prefix) is empty.
_USTAR_REST = tarfile.REGTYPE + bytes(100) + tarfile.POSIX_MAGIC + bytes(247)
_USTAR_CONSTANT_SUM = sum(_USTAR_OWNER) + sum(_USTAR_MTIME) + sum(b" " * 8) + sum(_USTAR_REST)
"""The checksum is summed over the header with its own field as eight spaces."""
