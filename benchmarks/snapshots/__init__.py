"""Workspace snapshots (`dumont_agent.snapshot`) against restic and `tar | lz4`, all measured in this run.

A seeded workspace is generated in a temporary directory (not timed): source, text and JSON files of
a few KiB, media-like assets under 1 MiB, incompressible data shards, and float32 checkpoints whose
tensors are partly dense (incompressible, like real weights) and partly zero-heavy, the first of them
500 MiB. Everything is written to the same filesystem. The workspace is read once before the runs and
the dirty pages are flushed before each one, so every run reads from the page cache and starts with
nothing to write back; the three take turns, and the median of the runs is reported.

- full snapshot: `pack()` into a fresh staging directory, with the manifest split into its pieces and
  written,
  against `restic backup` into a new repository (format 2, its default compression) and
  `tar -c -C workspace . | lz4 -1 > archive`;
- restore: `Manifest.from_bytes` and `restore()` with `fetch` reading the staged frames from disk
  through files opened once for the whole restore (like for like: `lz4 -d` opens its one archive once),
  into a new directory, against `restic restore` and `lz4 -d archive | tar -x -C directory`;
- re-snapshot, after each of three changes in turn (1% of the files edited, 1 MiB inserted in the
  middle of the 500 MiB file, 10,000 new small files): a `pack()` with the previous manifest's chunks
  as `known`, as the agent packs, against a `restic backup` into the same repository: what each adds
  (ours: the new chunks, the manifest's document and the pieces of it the previous snapshot did not
  store; restic: its repository's growth). One run each.

The restored workspace is compared with the original, file by file, before any figure is reported.
`make bench` installs restic when it is missing.

`workspace` generates and changes the workspace, `runs` times ours and `tar | lz4`, `restic` restic,
`measurement` holds the targets and one measurement of them, `report` the table.
"""

from benchmarks.snapshots.measurement import measure
from benchmarks.snapshots.report import render

__all__ = ["measure", "render"]
