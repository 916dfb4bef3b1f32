"""The agent's peak memory while packing: `pack()` and the manifest's serialization run alone in a child
process, which reports the most it ever held resident (`VmHWM`), interpreter and libraries included. Not
`ru_maxrss`: Linux carries it over an exec, so a child started by a large process would report its
parent's size.

Twice: a first snapshot, and one after it as the agent takes it, reading the previous manifest back from
its own copy and packing with its chunks known.

`python -m benchmarks.snapshots.memory first|again WORKSPACE STAGING COMPRESSION MANIFEST` is that child.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from dumont_agent.snapshot import Manifest, pack, split_manifest

KIB = 1024


class PackingPeaks(NamedTuple):
    first: int
    """Bytes: a first snapshot, nothing known."""
    again: int
    """Bytes: the snapshot after it, the previous manifest read back and its chunks known."""

    @property
    def highest(self) -> int:
        return max(self.first, self.again)


def peak_packing_bytes(workspace: Path, staging: Path, compression: str) -> PackingPeaks:
    copy = staging.with_name(f"{staging.name}.manifest")
    peaks = []
    for run in ("first", "again"):
        command = [sys.executable, "-m", "benchmarks.snapshots.memory", run]
        command += [str(workspace), str(staging), compression, str(copy)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        peaks.append(int(output.strip()))
        shutil.rmtree(staging, ignore_errors=True)
    copy.unlink()
    return PackingPeaks(*peaks)


def main(argv: list[str]) -> None:
    run, workspace, staging, compression, copy = argv
    if compression not in ("lz4", "zstd"):
        raise SystemExit(f"compression must be lz4 or zstd, not {compression!r}")
    known: Sequence[str] = []
    known_sizes = None
    if run == "again":
        previous = Manifest.from_bytes(Path(copy).read_bytes())
        known, known_sizes = previous.digests, previous.stored_sizes
        del previous  # as the agent does: only its chunks are needed
    packed = pack(
        Path(workspace),
        Path(staging),
        known=known,
        known_sizes=known_sizes,
        compression="zstd" if compression == "zstd" else "lz4",
    )
    split_manifest(packed.manifest)  # as the agent does, to upload it
    if run == "first":
        Path(copy).write_bytes(packed.manifest.to_bytes())  # the agent's own copy
    status = Path("/proc/self/status").read_text()
    peak_kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    print(int(peak_kib) * KIB)


if __name__ == "__main__":
    main(sys.argv[1:])
