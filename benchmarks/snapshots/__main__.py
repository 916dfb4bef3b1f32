"""`python -m benchmarks.snapshots`: the snapshot benchmark alone."""

from __future__ import annotations

import argparse
import sys

from benchmarks.snapshots import __doc__ as description
from benchmarks.snapshots import measure, render
from benchmarks.snapshots.measurement import MEMORY_LIMIT, MIB, ROUNDS, measure_memory
from dumont_agent.snapshot import COMPRESSIONS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.snapshots", description=description)
    parser.add_argument(
        "--gib", type=float, default=1.0, help="size of the generated workspace (default 1.0)"
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"runs of each (default {ROUNDS})")
    parser.add_argument(
        "--compression", choices=COMPRESSIONS, default="lz4", help="what ours compresses with (default lz4)"
    )
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="only the peak memory of packing a generated workspace of --gib (needs that much free space, "
        "not the full run's 13 times as much)",
    )
    args = parser.parse_args(argv)
    if args.memory_only:
        peaks = measure_memory(args.gib, args.compression)
        within = peaks.highest <= MEMORY_LIMIT
        verdict = "ok" if within else "FAIL"
        print(
            f"Peak memory packing {args.gib:g} GiB ({args.compression}): {peaks.first / MIB:,.0f} MiB for a "
            f"first snapshot, {peaks.again / MIB:,.0f} MiB for the next, "
            f"{verdict} (≤ {MEMORY_LIMIT // MIB} MiB)",
            flush=True,
        )
        return 0 if within else 1
    report, within_targets = render(measure(args.gib, args.rounds, args.compression))
    print(report, flush=True)
    return 0 if within_targets else 1


if __name__ == "__main__":
    sys.exit(main())
