"""The agent's peak memory while packing: `pack()` and the manifest's serialization run alone in a child
process, which reports the most
it ever held resident (`VmHWM`), interpreter and libraries included. Not `ru_maxrss`: Linux carries it
over an exec, so a child started by a large process would report its parent's size.

`python -m benchmarks.snapshots.memory WORKSPACE STAGING COMPRESSION` is that child.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dumont_agent.snapshot import pack, split_manifest

KIB = 1024


def peak_packing_bytes(workspace: Path, staging: Path, compression: str) -> int:
    command = [sys.executable, "-m", "benchmarks.snapshots.memory", str(workspace), str(staging), compression]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return int(output.strip())


def main(argv: list[str]) -> None:
    workspace, staging, compression = argv
    if compression not in ("lz4", "zstd"):
        raise SystemExit(f"compression must be lz4 or zstd, not {compression!r}")
    packed = pack(Path(workspace), Path(staging), compression="zstd" if compression == "zstd" else "lz4")
    split_manifest(packed.manifest)  # as the agent does, to upload it
    status = Path("/proc/self/status").read_text()
    peak_kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    print(int(peak_kib) * KIB)


if __name__ == "__main__":
    main(sys.argv[1:])
