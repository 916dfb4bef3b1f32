"""How much of the workspace its last snapshot does not hold: what a failover now would lose.

A file counts as unsaved when the last snapshot taken or restored here does not list it with the same
size and modification time. Walking a large workspace costs CPU, so the walk is repeated no more often
than a hundred times its own duration: at most about 1% of one core, however many files there are.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dumont_agent.snapshot import Manifest

WALK_BUDGET = 100
"""A walk is repeated only after this many times its own duration has passed."""

SavedFiles = dict[str, tuple[int, int]]
"""Path (relative, POSIX) to (size, mtime_ns), as the last snapshot holds each file."""


@dataclass(frozen=True)
class WorkspaceSize:
    total_bytes: int
    unsaved_bytes: int
    """Bytes of the files the last snapshot does not hold as they are now; all of them without one."""
    unsaved_files: int

    def as_heartbeat(self) -> dict[str, int]:
        return {
            "workspace_bytes": self.total_bytes,
            "unsaved_bytes": self.unsaved_bytes,
            "unsaved_files": self.unsaved_files,
        }


def saved_files(manifest: Manifest | None) -> SavedFiles:
    if manifest is None:
        return {}
    return {entry.path: (entry.size, entry.mtime_ns) for entry in manifest.entries if entry.kind == "file"}


def measure(workspace: Path, saved: SavedFiles) -> WorkspaceSize:
    """Walk `workspace` (never following symlinks) and compare each file with what `saved` holds."""
    total = unsaved = unsaved_count = 0
    root = str(workspace)
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                found = list(entries)
        except OSError:
            continue  # removed or unreadable meanwhile: nothing of it can be counted
        for entry in found:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                pending.append(entry.path)
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
                relative = os.path.relpath(entry.path, root).replace(os.sep, "/")
                if saved.get(relative) != (info.st_size, info.st_mtime_ns):
                    unsaved += info.st_size
                    unsaved_count += 1
    return WorkspaceSize(total_bytes=total, unsaved_bytes=unsaved, unsaved_files=unsaved_count)


@dataclass
class UnsavedMeter:
    """What each heartbeat reports of the workspace, walked again only when the budget allows."""

    workspace: Path
    saved: SavedFiles = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic
    _last: WorkspaceSize | None = None
    _walked_at: float = 0.0
    _walk_seconds: float = 0.0

    def snapshot_holds(self, manifest: Manifest) -> None:
        """A snapshot was taken or restored: the workspace as it lists it is saved."""
        self.saved = saved_files(manifest)
        self._last = None

    def reading(self) -> dict[str, int]:
        now = self.clock()
        if self._last is None or now - self._walked_at >= WALK_BUDGET * self._walk_seconds:
            self._last = measure(self.workspace, self.saved)
            self._walk_seconds = self.clock() - now
            self._walked_at = now
        return self._last.as_heartbeat()
