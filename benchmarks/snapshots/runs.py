"""The timed runs of ours and of `tar | lz4` on one workspace (restic's are in `restic`): what each
does in its round, in a scratch directory, and how they take turns; reading the workspace into the
page cache before them, and the digest that compares a restored tree with the original after them."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.snapshots.workspace import MIB, Workspace
from dumont_agent.snapshot import (
    Compression,
    Manifest,
    PackResult,
    PiecedManifest,
    pack,
    restore,
    split_manifest,
)


class ScratchRuns:
    """What each run of ours and of the baseline does, given its round number, in `scratch`.

    Restoring, ours and the baseline alike, reads what the last round of packing left.
    """

    def __init__(self, scratch: Path, workspace: Workspace, rounds: int, compression: Compression) -> None:
        self.compression: Compression = compression
        self.scratch = scratch
        self.workspace = workspace
        self.last = rounds - 1
        self.packed: list[PackResult] = []
        self.pieced: list[PiecedManifest] = []
        """The manifest of each of `packed`, as it is stored: a document and its pieces."""
        self._pieces_at: dict[str, tuple[int, int]] = {}
        """Where the last round's pieces are in its file of pieces."""

    def staging(self, round_number: int) -> Path:
        return self.scratch / f"staging-{round_number}"

    def archive(self, round_number: int) -> Path:
        return self.scratch / f"workspace-{round_number}.tar.lz4"

    def restored(self, round_number: int) -> Path:
        return self.scratch / f"restored-{round_number}"

    def pack_ours(self, round_number: int) -> None:
        result = pack(self.workspace.root, self.staging(round_number), compression=self.compression)
        pieced = split_manifest(result.manifest)
        (self.staging(round_number) / "manifest").write_bytes(pieced.document)
        (self.staging(round_number) / "pieces").write_bytes(b"".join(piece.frame for piece in pieced.pieces))
        self._pieces_at = {}
        offset = 0
        for piece in pieced.pieces:
            self._pieces_at[piece.ref.digest] = (offset, len(piece.frame))
            offset += len(piece.frame)
        self.packed.append(result)
        self.pieced.append(pieced)

    def pack_baseline(self, round_number: int) -> None:
        _shell("tar -c -C {} . | lz4 -1 -q > {}", self.workspace.root, self.archive(round_number))

    def drop_previous_round(self, round_number: int) -> None:
        _remove(self.staging(round_number - 1))
        _remove(self.archive(round_number - 1))

    def restore_ours(self, round_number: int) -> None:
        with _Frames(self.packed[self.last], self.staging(self.last) / "pieces", self._pieces_at) as frames:
            manifest = Manifest.from_bytes((self.staging(self.last) / "manifest").read_bytes(), frames.fetch)
            restore(manifest, frames.fetch, self.restored(round_number))

    def restore_baseline(self, round_number: int) -> None:
        untarred = self.scratch / f"untarred-{round_number}"
        untarred.mkdir()
        _shell("lz4 -d -q -c {} | tar -x -C {}", self.archive(self.last), untarred)


class _Frames:
    """Our restore's `fetch` in the bench: the staged frames read from the files pack left, each file
    opened once for the whole restore, as `lz4 -d` opens its archive once. (`PackResult.frame` opens
    the segment file for every frame, some 26,000 opens a GiB that the baseline does not pay; the agent
    downloads frames instead.)"""

    def __init__(self, packed: PackResult, pieces: Path, pieces_at: dict[str, tuple[int, int]]) -> None:
        self._staged = packed.staged
        self._pieces = pieces
        self._pieces_at = pieces_at
        self._descriptors: dict[str, int] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> _Frames:
        return self

    def __exit__(self, *_: object) -> None:
        for descriptor in self._descriptors.values():
            os.close(descriptor)

    def fetch(self, digest: str) -> bytes:
        staged = self._staged.get(digest)
        if staged is not None:
            path, offset, length = staged
        else:
            path = str(self._pieces)
            offset, length = self._pieces_at[digest]
        descriptor = self._descriptors.get(path)
        if descriptor is None:
            with self._lock:
                descriptor = self._descriptors.get(path)
                if descriptor is None:
                    descriptor = self._descriptors[path] = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        return os.pread(descriptor, length, offset)


def alternate(
    rounds: int,
    actions: list[Callable[[int], None]],
    between_rounds: Callable[[int], None] | None = None,
) -> list[list[float]]:
    """Seconds of each run of each action, given the round number.

    They take turns, and which goes first turns too. Restored trees are not deleted between rounds:
    after thousands of files are deleted, ext4 is slower to create new ones for a minute or more (it
    skips recently deleted inodes), which would tax whichever run came next."""
    seconds: list[list[float]] = [[] for _ in actions]
    for round_number in range(rounds):
        if round_number and between_rounds is not None:
            between_rounds(round_number)
        turn = round_number % len(actions)
        for index in [*range(turn, len(actions)), *range(turn)]:
            seconds[index].append(_timed(actions[index], round_number))
    return seconds


def read_everything(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as file:
                while file.read(8 * MIB):
                    pass


def tree_digest(root: Path) -> str:
    """Paths, kinds, modes, mtimes, symlink targets and contents of a tree, in one digest."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        status = path.lstat()
        digest.update(f"{path.relative_to(root)} {status.st_mode:o} {status.st_mtime_ns}\n".encode())
        if path.is_symlink():
            digest.update(str(path.readlink()).encode())
        elif path.is_file():
            with path.open("rb") as file:
                while block := file.read(8 * MIB):
                    digest.update(block)
    return digest.hexdigest()


def _timed(action: Callable[[int], None], round_number: int) -> float:
    os.sync()  # what earlier runs wrote is on disk: no run pays for another's writeback
    started = time.perf_counter()
    action(round_number)
    return time.perf_counter() - started


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _shell(command: str, *paths: Path) -> None:
    """Run a pipeline; `{}` in `command` stand for `paths`, quoted."""
    quoted = command.format(*(shlex.quote(str(path)) for path in paths))
    subprocess.run(["bash", "-o", "pipefail", "-c", quoted], check=True)
