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

`workspace` generates and changes the workspace, `runs` times ours and the baseline, `measurement`
holds the targets and one measurement of them, `report` the table.
"""

from benchmarks.snapshots.measurement import measure
from benchmarks.snapshots.report import render

__all__ = ["measure", "render"]
