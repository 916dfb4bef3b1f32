"""Reading a workspace's files as the walk saw them, or raising WorkspaceChanged: never a torn copy.

A file is identified by its device, inode, size and mtime when it is walked. Each read opens it without
following symlinks, reads exactly its walked size, and checks that identity after reading.
"""

from __future__ import annotations

import errno
import os

from dumont_agent.snapshot.errors import WorkspaceChanged

Identity = tuple[int, int, int, int]
"""Device, inode, size and mtime: what must not change between walking a file and reading it, or the
copy could be torn."""


def identity_of(status: os.stat_result) -> Identity:
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def workspace_changed(relative: str) -> WorkspaceChanged:
    return WorkspaceChanged(
        f"{relative} changed while it was being packed; stop the processes writing to the workspace "
        "and pack again"
    )


def read_unchanged(path: str, relative: str, identity: Identity, into: memoryview, offset: int) -> None:
    """Fill `into` with the file's bytes from `offset`, from the file the walk saw as it was then.

    Its identity is checked once, after reading: a file replaced, grown, shrunk or written since the walk
    has another inode, size or mtime by then, and what was read of it is thrown away with the error. A
    check before reading as well cost the walking thread a system call a file, for nothing it could
    catch that this one does not."""
    descriptor = _open(path, relative)
    try:
        _read_exactly(descriptor, into, offset, relative)
    except IsADirectoryError as error:  # replaced by a directory since the walk
        raise workspace_changed(relative) from error
    else:
        _check_unchanged(descriptor, relative, identity)
    finally:
        os.close(descriptor)


def _open(path: str, relative: str) -> int:
    """A descriptor of what is at `path` now, never through a symlink put in its place."""
    try:
        return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise workspace_changed(relative) from error
    except OSError as error:
        if error.errno == errno.ELOOP:  # replaced by a symlink since the walk
            raise workspace_changed(relative) from error
        raise


def _read_exactly(descriptor: int, into: memoryview, offset: int, relative: str) -> None:
    while into:
        count = os.preadv(descriptor, [into], offset)
        if count == 0:  # the file is shorter than when it was walked
            raise workspace_changed(relative)
        into = into[count:]
        offset += count


def _check_unchanged(descriptor: int, relative: str, identity: Identity) -> None:
    if identity_of(os.fstat(descriptor)) != identity:
        raise workspace_changed(relative)
