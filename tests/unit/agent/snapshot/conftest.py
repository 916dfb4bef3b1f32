"""A workspace with every kind of entry a snapshot keeps, and what a restore must reproduce of it.

Chunk sizes are made small here, so files of many chunks and small files cut together take a few KiB.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from dumont_agent.snapshot import ChunkSizes, PackResult, cutting, walk

KIB = 1024
MTIME_NS = 1_700_000_000_123_456_789
NON_UTF8_NAME = os.fsdecode(b"caf\xe9.txt")


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cutting, "LARGE_FILES", ChunkSizes(8 * KIB, minimum=2 * KIB, maximum=32 * KIB))
    monkeypatch.setattr(cutting, "SMALL_FILES", ChunkSizes(1 * KIB, minimum=256, maximum=4 * KIB))
    monkeypatch.setattr(walk, "SMALL_FILE_BYTES", 16 * KIB)
    monkeypatch.setattr(walk, "READ_BYTES", 64 * KIB)


def write(path: Path, data: bytes, mode: int = 0o644, mtime_ns: int = MTIME_NS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def make_workspace(root: Path) -> Path:
    rng = random.Random(1)
    write(root / "empty.txt", b"")
    write(root / "notes.md", b"# notes\n" * 40)
    write(root / "binary.bin", bytes(rng.randrange(256) for _ in range(5000)))
    write(root / "model.pt", rng.randbytes(200 * KIB + 123))  # read in four parts, the last one short
    write(root / "zeros.bin", bytes(130 * KIB))  # its chunks are all the same
    write(root / "run.sh", b"#!/bin/sh\necho hi\n", mode=0o755)
    write(root / "secret.key", b"k" * 33, mode=0o600)
    write(root / "src/pkg/deep/module.py", b"print('deep')\n", mtime_ns=MTIME_NS - 10**9)
    write(root / ("long-" * 30 + "name.py"), b"a long name\n")
    write(root / NON_UTF8_NAME, b"a name that is not UTF-8\n")
    for index in range(40):
        write(root / f"many/file_{index:02d}.txt", f"file {index}\n".encode() * (index + 1))
    (root / "empty-dir/nested-empty").mkdir(parents=True)
    (root / "link-to-file").symlink_to("src/pkg/deep/module.py")
    (root / "link-outside").symlink_to("../../outside/the/workspace")
    (root / "dangling").symlink_to("does/not/exist")
    write(root / "read-only/kept.txt", b"in a read-only directory\n")
    (root / "read-only").chmod(0o555)
    # Directory mtimes last: creating their entries changed them.
    for directory in ("src/pkg/deep", "src/pkg", "src", "many", "empty-dir/nested-empty", "empty-dir"):
        os.utime(root / directory, ns=(MTIME_NS, MTIME_NS))
    return root


def tree(root: Path) -> dict[str, tuple[object, ...]]:
    """Everything restore must reproduce: kind, mode, mtime, content or symlink target, per path."""
    found: dict[str, tuple[object, ...]] = {}
    status = root.lstat()
    found["."] = ("dir", status.st_mode, status.st_mtime_ns)
    for directory, names, files in os.walk(root):
        for name in names + files:
            path = Path(directory, name)
            status = path.lstat()
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[relative] = ("symlink", str(path.readlink()))
            elif path.is_dir():
                found[relative] = ("dir", status.st_mode, status.st_mtime_ns)
            else:
                found[relative] = ("file", status.st_mode, status.st_mtime_ns, path.read_bytes())
    return found


def fetch_from(*sources: PackResult | Path) -> Callable[[str], bytes]:
    """Frames as a restore fetches them: from what packs staged, or from a directory of one file a chunk."""

    def fetch(digest: str) -> bytes:
        for source in sources:
            if isinstance(source, PackResult):
                if digest in source.staged:
                    return source.frame(digest)
            elif (source / digest).exists():
                return (source / digest).read_bytes()
        raise FileNotFoundError(f"no chunk {digest}")

    return fetch


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "workspace")
