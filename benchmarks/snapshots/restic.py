"""restic (Debian's `restic`, `make bench` installs it) on the same workspace: a repository of format
version 2 with its default compression, a cache of its own in the scratch directory, backups and
restores timed as ours are."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

_PASSWORD = "bench-only"


def available() -> bool:
    return shutil.which("restic") is not None


class Restic:
    """A restic repository per round of full backups; the last round's takes the re-snapshots."""

    def __init__(self, scratch: Path, workspace: Path, rounds: int) -> None:
        self.scratch = scratch
        self.workspace = workspace
        self.last = rounds - 1

    def repository(self, round_number: int) -> Path:
        return self.scratch / f"restic-{round_number}"

    def restored(self, round_number: int) -> Path:
        return self.scratch / f"restic-restored-{round_number}"

    def backup(self, round_number: int) -> None:
        repository = self.repository(round_number)
        if not repository.exists():
            self._run(repository, "init", "--repository-version", "2")
        self._run(repository, "backup", "--quiet", str(self.workspace))

    def drop(self, round_number: int) -> None:
        shutil.rmtree(self.repository(round_number), ignore_errors=True)

    def restore(self, round_number: int) -> None:
        target = self.restored(round_number)
        self._run(self.repository(self.last), "restore", "latest", "--quiet", "--target", str(target))

    def stored_bytes(self) -> int:
        """Bytes of the last round's repository: data, trees, indexes and snapshots."""
        return sum(path.stat().st_size for path in self.repository(self.last).rglob("*") if path.is_file())

    def _run(self, repository: Path, *arguments: str) -> None:
        environment = {**os.environ, "RESTIC_PASSWORD": _PASSWORD}
        subprocess.run(
            ["restic", "--repo", str(repository), "--cache-dir", str(self.scratch / "cache"), *arguments],
            check=True,
            env=environment,
            stdout=subprocess.DEVNULL,
        )
