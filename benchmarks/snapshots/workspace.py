"""The seeded workspace the snapshot benchmark packs, in the shares of its bytes below, and the three
kinds of change made to it before each re-snapshot."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
SEED = 7
# Shares of the workspace's bytes.
SOURCE_SHARE = 0.15
ASSET_SHARE = 0.05
SHARD_SHARE = 0.30
# The rest: checkpoints, the first of them `LARGE_FILE_BYTES` (or all of the rest, when less).
LARGE_FILE_BYTES = 500 * MIB

_VOCABULARY = (
    "def class return import from self None True False if else elif for while in not and or with as "
    "try except raise lambda yield async await tensor model layer weight bias optimizer loss batch "
    "epoch step learning_rate gradient forward backward config dataset loader sample shape dtype "
    "float32 device cuda torch numpy train eval checkpoint path json name value index count result"
)
_WORDS = _VOCABULARY.split()


@dataclass(frozen=True)
class Workspace:
    root: Path
    files: list[Path]
    total_bytes: int


def _corpus(rng: random.Random, size: int) -> str:
    """Source-like text: indented lines of identifiers and punctuation."""
    lines: list[str] = []
    length = 0
    while length < size:
        indent = "    " * rng.randrange(4)
        words = rng.choices(_WORDS, k=rng.randrange(2, 12))
        line = f"{indent}{' '.join(words)}{rng.choice(('', ':', '(x)', ' = 0', ', 1.0)'))}"
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines)


def _float_tensors(size: int, rng: random.Random) -> bytes:
    """float32 tensors: dense ones are random mantissas around ±0.01 (what trained weights look like to
    LZ4: incompressible), sparse ones mostly zeros (fresh optimizer state, masks, padding)."""
    exponent_of = bytes((byte & 0x80) | 0x3C for byte in range(256))
    out = bytearray()
    while len(out) < size:
        # Whole floats; the last tensor may overshoot and is cut to size below.
        count = rng.choice((256 * 1024, MIB, 4 * MIB))
        if rng.random() < 0.6:
            tensor = bytearray(rng.randbytes(count))
            tensor[3::4] = tensor[3::4].translate(exponent_of)
        else:
            tensor = bytearray(count)
            tensor[0::32] = rng.randbytes(len(range(0, count, 32)))
        out += tensor
    return bytes(out[:size])


def generate_workspace(root: Path, total_bytes: int, seed: int = SEED) -> Workspace:
    rng = random.Random(seed)
    corpus = _corpus(rng, MIB)
    files: list[Path] = []

    def write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(path)

    written = 0
    source_budget = int(total_bytes * SOURCE_SHARE)
    number = 0
    while written < source_budget:
        size = int(min(max(rng.lognormvariate(8.3, 1.2), 64), 256 * 1024))
        start = rng.randrange(len(corpus) - size) if size < len(corpus) else 0
        body = corpus[start : start + size]
        package = f"project/pkg_{number // 400:03d}/sub_{number // 40 % 10}"
        kind = rng.choice(("py", "py", "py", "json", "txt"))
        if kind == "json":
            text = json.dumps({"id": number, "seed": rng.random(), "lines": body.splitlines()})
        else:
            text = f"# {number} {rng.random()}\n{body}"
        write(root / f"{package}/file_{number:05d}.{kind}", text.encode())
        written += len(text)
        number += 1

    for budget, make in (
        (
            int(total_bytes * ASSET_SHARE),
            lambda n: (f"assets/img_{n:04d}.png", rng.randrange(64 * 1024, MIB)),
        ),
        (
            int(total_bytes * SHARD_SHARE),
            lambda n: (f"data/shard_{n:03d}.bin", rng.randrange(2 * MIB, 48 * MIB)),
        ),
    ):
        used = 0
        number = 0
        while used < budget:
            name, size = make(number)
            size = min(size, budget - used)
            write(root / name, rng.randbytes(size))
            used += size
            number += 1
        written += used

    number = 0
    while written < total_bytes:
        wanted = LARGE_FILE_BYTES if number == 0 else rng.randrange(16 * MIB, 128 * MIB)
        size = min(wanted, total_bytes - written)
        write(root / f"checkpoints/step_{number:04d}.pt", _float_tensors(size, rng))
        written += size
        number += 1

    # What a workspace also holds: empty files and directories, symlinks inside and out of it.
    for index in range(10):
        write(root / f"project/empty_{index}.py", b"")
    (root / "project/logs/empty").mkdir(parents=True)
    (root / "latest.pt").symlink_to("checkpoints/step_0000.pt")
    (root / "outside").symlink_to("../elsewhere")
    return Workspace(root, files, written)


def change_files(workspace: Workspace, share: float, seed: int = SEED) -> int:
    """Change `share` of the files, picked at random: append a line to source files, overwrite 4 KiB in
    place in the others. Returns how many files changed."""
    rng = random.Random(seed + 1)
    changed = rng.sample(workspace.files, max(1, round(len(workspace.files) * share)))
    for path in changed:
        size = path.stat().st_size
        if path.suffix in (".py", ".json", ".txt") or size < 4096:
            with path.open("ab") as file:
                file.write(f"\n# changed {rng.random()}\n".encode())
        else:
            with path.open("r+b") as file:
                file.seek(rng.randrange(size - 4096))
                file.write(rng.randbytes(4096))
    return len(changed)


def insert_in_the_middle(workspace: Workspace, size: int, seed: int = SEED) -> Path:
    """Insert `size` random bytes in the middle of the largest file; returns that file."""
    largest = max(workspace.files, key=lambda path: path.stat().st_size)
    data = largest.read_bytes()
    middle = len(data) // 2
    largest.write_bytes(data[:middle] + random.Random(seed + 2).randbytes(size) + data[middle:])
    return largest


def add_small_files(workspace: Workspace, count: int, seed: int = SEED) -> int:
    """Write `count` new source files of a few KiB, 100 to a directory; returns their bytes."""
    rng = random.Random(seed + 3)
    corpus = _corpus(rng, MIB)
    written = 0
    for number in range(count):
        size = int(min(max(rng.lognormvariate(8.3, 1.2), 64), 256 * 1024))
        start = rng.randrange(len(corpus) - size) if size < len(corpus) else 0
        path = workspace.root / f"added/pkg_{number // 100:03d}/new_{number:05d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = f"# new {number} {rng.random()}\n{corpus[start : start + size]}".encode()
        path.write_bytes(data)
        workspace.files.append(path)
        written += len(data)
    return written
