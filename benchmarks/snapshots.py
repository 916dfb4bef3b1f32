"""Workspace snapshots (`dumont_agent.snapshot`) against `tar | lz4`, both measured in this run.

A seeded workspace is generated in a temporary directory (not timed): source, text and JSON files of
a few KiB, media-like assets under 1 MiB, incompressible data shards, and float32 checkpoints whose
tensors are partly dense (incompressible, like real weights) and partly zero-heavy. Everything is
written to the same filesystem. The workspace is read once before the runs and the dirty pages are
flushed before each one, so every run reads from the page cache and starts with nothing to write back;
ours and the baseline alternate, and the median of the runs is reported.

- pack: `pack()` into a fresh staging directory, with the manifest serialized and written, against
  `tar -c -C workspace . | lz4 -1 > archive`;
- restore: `Manifest.from_bytes` and `restore()` with `fetch` reading the staged frames from disk,
  into a new directory, against `lz4 -d archive | tar -x -C directory`;
- incremental: after 1% of the files (picked at random) changed, a second `pack()` with the first
  manifest's chunks as `known`: the bytes it writes, against everything the first pack stored.

The restored workspace is compared with the original, file by file, before any figure is reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import heading, legend, table
from dumont_agent.snapshot import Manifest, PackResult, pack, restore

MIB = 1024 * 1024
GIB = 1024 * MIB
SEED = 7
ROUNDS = 3
SPEED_TARGET = 0.8
"""Ours / baseline throughput, pack and restore alike."""
INCREMENTAL_LIMIT = 0.05
"""Bytes a second pack writes after 1% of the files changed, as a share of the first pack's."""
CHANGED_FILES_SHARE = 0.01
TARGETS = (
    f"pack and restore ≥ {SPEED_TARGET:.1f}x the throughput of tar | lz4; after "
    f"{CHANGED_FILES_SHARE:.0%} of the files changed, a second pack writes ≤ {INCREMENTAL_LIMIT:.0%} "
    "of what the first stored"
)
# Shares of the workspace's bytes.
SOURCE_SHARE = 0.15
ASSET_SHARE = 0.05
SHARD_SHARE = 0.30
# The rest: checkpoints.

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
        size = min(rng.randrange(16 * MIB, 128 * MIB), total_bytes - written)
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


def _read_everything(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as file:
                while file.read(8 * MIB):
                    pass


def _tree_digest(root: Path) -> str:
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


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _shell(command: str, *paths: Path) -> None:
    """Run a pipeline; `{}` in `command` stand for `paths`, quoted."""
    quoted = command.format(*(shlex.quote(str(path)) for path in paths))
    subprocess.run(["bash", "-o", "pipefail", "-c", quoted], check=True)


def _timed(action: Callable[[int], None], round_number: int) -> float:
    os.sync()  # what earlier runs wrote is on disk: no run pays for another's writeback
    started = time.perf_counter()
    action(round_number)
    return time.perf_counter() - started


@dataclass(frozen=True)
class SnapshotResult:
    workspace_bytes: int
    file_count: int
    pack_seconds: list[float]
    tar_seconds: list[float]
    restore_seconds: list[float]
    untar_seconds: list[float]
    stored_bytes: int
    archive_bytes: int
    changed_files: int
    incremental_bytes: int
    incremental_chunks: int
    incremental_seconds: float

    def throughput(self, seconds: list[float]) -> float:
        return self.workspace_bytes / statistics.median(seconds) / 1e6

    @property
    def pack_ratio(self) -> float:
        return statistics.median(self.tar_seconds) / statistics.median(self.pack_seconds)

    @property
    def restore_ratio(self) -> float:
        return statistics.median(self.untar_seconds) / statistics.median(self.restore_seconds)

    @property
    def incremental_share(self) -> float:
        return self.incremental_bytes / self.stored_bytes

    @property
    def within_targets(self) -> bool:
        return (
            self.pack_ratio >= SPEED_TARGET
            and self.restore_ratio >= SPEED_TARGET
            and self.incremental_share <= INCREMENTAL_LIMIT
        )


def measure(gib: float = 1.0, rounds: int = ROUNDS) -> SnapshotResult:
    workspace_bytes = int(gib * GIB)
    scratch_parent = Path(tempfile.gettempdir())
    # The workspace, two pack outputs, and every restored tree: they are deleted only at the end.
    needed = workspace_bytes * (3 + 2 * rounds)
    free = shutil.disk_usage(scratch_parent).free
    if free < needed:
        raise RuntimeError(
            f"the snapshot benchmark needs {needed / GIB:.1f} GiB free in {scratch_parent}, "
            f"{free / GIB:.1f} GiB are: give a smaller --snapshot-gib or another TMPDIR"
        )
    with tempfile.TemporaryDirectory(prefix="dumont-bench-snapshots-") as scratch:
        base = Path(scratch)
        workspace = generate_workspace(base / "workspace", workspace_bytes)
        _read_everything(workspace.root)
        packed: list[PackResult] = []

        def staging(round_number: int) -> Path:
            return base / f"staging-{round_number}"

        def archive(round_number: int) -> Path:
            return base / f"workspace-{round_number}.tar.lz4"

        def pack_ours(round_number: int) -> None:
            result = pack(workspace.root, staging(round_number))
            (staging(round_number) / "manifest").write_bytes(result.manifest.to_bytes())
            packed.append(result)

        def pack_baseline(round_number: int) -> None:
            _shell("tar -c -C {} . | lz4 -1 -q > {}", workspace.root, archive(round_number))

        def drop_previous_round(round_number: int) -> None:
            _remove(staging(round_number - 1))
            _remove(archive(round_number - 1))

        pack_seconds, tar_seconds = _alternate(rounds, pack_ours, pack_baseline, drop_previous_round)

        last = rounds - 1

        def fetch(digest: str) -> bytes:
            return (staging(last) / digest).read_bytes()

        def restore_ours(round_number: int) -> None:
            manifest = Manifest.from_bytes((staging(last) / "manifest").read_bytes())
            restore(manifest, fetch, base / f"restored-{round_number}")

        def restore_baseline(round_number: int) -> None:
            untarred = base / f"untarred-{round_number}"
            untarred.mkdir()
            _shell("lz4 -d -q -c {} | tar -x -C {}", archive(last), untarred)

        restore_seconds, untar_seconds = _alternate(rounds, restore_ours, restore_baseline)
        if _tree_digest(base / "restored-0") != _tree_digest(workspace.root):
            raise RuntimeError("the restored workspace differs from the original: the figures are void")

        first = packed[-1]
        changed = change_files(workspace, CHANGED_FILES_SHARE)
        second = pack(
            workspace.root,
            base / "staging-incremental",
            known=first.manifest.digests,
            known_sizes=first.manifest.stored_sizes,
        )
        return SnapshotResult(
            workspace_bytes=first.manifest.total_bytes,
            file_count=first.manifest.file_count,
            pack_seconds=pack_seconds,
            tar_seconds=tar_seconds,
            restore_seconds=restore_seconds,
            untar_seconds=untar_seconds,
            stored_bytes=first.stored_bytes,
            archive_bytes=archive(last).stat().st_size,
            changed_files=changed,
            incremental_bytes=second.written_bytes,
            incremental_chunks=len(second.written),
            incremental_seconds=second.seconds,
        )


def _alternate(
    rounds: int,
    ours: Callable[[int], None],
    baseline: Callable[[int], None],
    between_rounds: Callable[[int], None] | None = None,
) -> tuple[list[float], list[float]]:
    """Seconds of each run of `ours` and of `baseline`, given the round number.

    They alternate, and which goes first alternates too. Restored trees are not deleted between rounds:
    after thousands of files are deleted, ext4 is slower to create new ones for a minute or more (it
    skips recently deleted inodes), which would tax whichever run came next."""
    ours_seconds: list[float] = []
    baseline_seconds: list[float] = []
    order = [(ours, ours_seconds), (baseline, baseline_seconds)]
    for round_number in range(rounds):
        if round_number and between_rounds is not None:
            between_rounds(round_number)
        for action, seconds in order if round_number % 2 == 0 else reversed(order):
            seconds.append(_timed(action, round_number))
    return ours_seconds, baseline_seconds


def _range(seconds: list[float]) -> str:
    return f"{min(seconds):.2f}-{max(seconds):.2f}"


def render(result: SnapshotResult) -> tuple[str, bool]:
    """The report, and whether every target holds."""

    def verdict(ok: bool, target: str) -> str:
        return f"ok ({target})" if ok else f"FAIL ({target})"

    speed_target = f"≥ {SPEED_TARGET:.1f}x"
    rows = [
        [
            "pack",
            f"{result.throughput(result.pack_seconds):,.0f}",
            _range(result.pack_seconds),
            f"{result.throughput(result.tar_seconds):,.0f}",
            _range(result.tar_seconds),
            f"{result.pack_ratio:.2f}x",
            verdict(result.pack_ratio >= SPEED_TARGET, speed_target),
        ],
        [
            "restore",
            f"{result.throughput(result.restore_seconds):,.0f}",
            _range(result.restore_seconds),
            f"{result.throughput(result.untar_seconds):,.0f}",
            _range(result.untar_seconds),
            f"{result.restore_ratio:.2f}x",
            verdict(result.restore_ratio >= SPEED_TARGET, speed_target),
        ],
    ]
    headers = ["operation", "ours MB/s", "ours s", "tar|lz4 MB/s", "tar|lz4 s", "ours/baseline", "verdict"]
    incremental_ok = result.incremental_share <= INCREMENTAL_LIMIT
    explanations = [
        ("operation", "pack: workspace to staged chunks + manifest; restore: those back to a new directory"),
        ("ours MB/s", f"workspace bytes / median seconds of {len(result.pack_seconds)} runs (1 MB = 10^6 B)"),
        ("ours s", "fastest-slowest run"),
        ("tar|lz4 MB/s", "the same for `tar -c | lz4 -1` and `lz4 -d | tar -x`, alternating with ours"),
        ("ours/baseline", "throughput of ours over the baseline's"),
    ]
    summary = (
        f"  All within the targets ({TARGETS})."
        if result.within_targets
        else f"  FAILED: a target is missed ({TARGETS})."
    )
    text = "\n".join(
        [
            heading(
                f"3. Workspace snapshots ({result.workspace_bytes / GIB:.2f} GiB in "
                f"{result.file_count:,} files, {os.cpu_count()} CPUs)"
            ),
            table(headers, rows, right=(1, 2, 3, 4, 5)),
            "",
            f"  Compression: {result.workspace_bytes / result.stored_bytes:.2f}x ours "
            f"({result.stored_bytes / 1e6:,.0f} MB in chunks), "
            f"{result.workspace_bytes / result.archive_bytes:.2f}x tar | lz4 -1 "
            f"({result.archive_bytes / 1e6:,.0f} MB).",
            f"  Incremental: {result.changed_files} files changed ({CHANGED_FILES_SHARE:.0%}); "
            f"the second pack wrote {result.incremental_chunks} chunks, "
            f"{result.incremental_bytes / 1e6:,.1f} MB = "
            f"{result.incremental_share:.1%} of the first pack's; in {result.incremental_seconds:.2f} s. "
            + verdict(incremental_ok, f"≤ {INCREMENTAL_LIMIT:.0%}"),
            "",
            summary,
            "",
            legend(explanations),
        ]
    )
    return text, result.within_targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.snapshots", description=__doc__)
    parser.add_argument(
        "--gib", type=float, default=1.0, help="size of the generated workspace (default 1.0)"
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"runs of each (default {ROUNDS})")
    args = parser.parse_args(argv)
    report, within_targets = render(measure(args.gib, args.rounds))
    print(report, flush=True)
    return 0 if within_targets else 1


if __name__ == "__main__":
    sys.exit(main())
