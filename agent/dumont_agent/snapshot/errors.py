"""The errors of packing and restoring a workspace, each with a message that says what to do about it."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterator
from typing import ClassVar

_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class SnapshotError(Exception):
    """Packing or restoring a workspace failed; the message says what to do about it."""


class _ChunkFailure(SnapshotError):
    """One chunk failed a restore, which left the workspace as it was; `digest` names the chunk."""

    happened: ClassVar[str]
    remedy: ClassVar[str]

    def __init__(self, digest: str, reason: str) -> None:
        super().__init__(
            f"chunk {digest} {self.happened} ({reason}); the workspace was left as it was. {self.remedy}"
        )
        self.digest = digest


class CorruptChunk(_ChunkFailure):
    """A chunk's frame does not decode, or its content does not have the digest it is stored under."""

    happened = "is corrupt"
    remedy = "Upload the chunk again from a copy that verifies, or restore an older snapshot"


class MissingChunk(_ChunkFailure):
    """Fetching a chunk failed."""

    happened = "could not be fetched"
    remedy = "Check that the snapshot's chunks are all stored, then restore again"


class NotEnoughSpace(SnapshotError):
    """The disk filled up while staging chunks or restoring; what was written is removed again."""


class WorkspaceChanged(SnapshotError):
    """A file changed while it was being packed, so the snapshot would hold a torn copy of it."""


@contextlib.contextmanager
def failing_as_snapshot_error(
    doing: str, outcome: str, *, undo: Callable[[], None] | None = None
) -> Iterator[None]:
    """Whatever fails inside runs `undo` first; then what the disk did (OSError) is raised as a SnapshotError
    that says what was being done and what became of it, and anything else is raised as it is."""
    try:
        yield
    except BaseException as error:
        if undo is not None:
            undo()
        if isinstance(error, SnapshotError) or not isinstance(error, OSError):
            raise
        if error.errno in _SPACE_ERRNOS:
            raise NotEnoughSpace(
                f"no space left on the device while {doing} ({error}); {outcome}. "
                "Free some space and try again"
            ) from error
        raise SnapshotError(f"{doing} failed ({error}); {outcome}") from error
