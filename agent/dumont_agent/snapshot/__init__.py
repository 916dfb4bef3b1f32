"""Workspace snapshots: pack a directory into content-addressed chunks, restore it verified or not at all.

A snapshot is a manifest (`Manifest.to_bytes`) and the chunks it names. Every chunk is one LZ4 or
Zstandard frame (`compression`, which `pack` takes), stored under the SHA-256 of its uncompressed bytes,
so a chunk that is already stored never has to be uploaded again, and every byte restored is checked
against the digest it was stored under.

- Chunks are cut where the content says (FastCDC, `cutting`), so an edit or an insertion changes only
  the chunks around it and the cuts after it fall where they fell before.
- A file of `SMALL_FILE_BYTES` or more is cut on its own, in chunks of `LARGE_FILES` sizes.
- Smaller files are cut together, as one stream of their contents in walk order, in chunks of
  `SMALL_FILES` sizes: many tiny files make one chunk, and a changed file changes the chunk or two that
  hold it, not the others.
- Snapshots of the first format (8 MiB pieces and tar bundles) restore as they did: a file is spans of
  chunks in both.
- The manifest records every regular file, directory and symlink: mode, mtime and, for files, which
  bytes of which chunks make up the content.

No network I/O happens here: `pack` writes frames into a staging directory for the caller to upload,
and `restore` asks the caller's `fetch` for each frame. The walking thread reads and cuts the small
files; the `workers` threads hash and compress their chunks, and read, cut, hash and compress each large
file whole. Reading, cutting, hashing and compressing release the GIL, so they run on every core. A few
chunks per worker at most are in memory, however large the workspace.

Not kept: owners and groups (restored files belong to whoever restores them), hard links (each path
gets a copy), extended attributes, ACLs and holes in sparse files. Sockets, FIFOs and device nodes are
skipped and listed in `PackResult.skipped`.

This package's modules, in the order a snapshot passes through them:

- `walk`: the workspace's entries, the small files' chunks and the large files to cut;
- `reading`: each file read as the walk saw it, or WorkspaceChanged;
- `cutting`: content-defined chunks of each large file and of the small files' stream;
- `compression`: LZ4 and Zstandard frames;
- `chunks`: content-addressed frames, staged when packing and verified when restoring;
- `tables` and `digest_index`: a manifest's chunks and entries in columns, found by raw digest;
- `pipeline`: the bounded thread pool the chunks go through;
- `packing` and `restoring`: `pack` and `restore`;
- `restore_plan`: what a restore writes, and in which lanes and batches its chunks go to the workers;
- `manifest` and `errors`: what a snapshot is made of, and what can go wrong;
- `pieces`: the manifest stored in content-addressed pieces, so a re-snapshot uploads only those that
  changed.

Import the names below from here, not from the modules.
"""

from dumont_agent.snapshot.chunks import ChunkListener, StagedFrame
from dumont_agent.snapshot.compression import COMPRESSIONS, Compression
from dumont_agent.snapshot.cutting import LARGE_FILES, SMALL_FILES, ChunkSizes
from dumont_agent.snapshot.errors import (
    CorruptChunk,
    MissingChunk,
    NotEnoughSpace,
    SnapshotError,
    WorkspaceChanged,
)
from dumont_agent.snapshot.manifest import ChunkRef, Entry, Manifest, Span
from dumont_agent.snapshot.packing import PackResult, pack
from dumont_agent.snapshot.pieces import Piece, PiecedManifest, split_manifest
from dumont_agent.snapshot.restoring import RestoreResult, restore
from dumont_agent.snapshot.walk import SMALL_FILE_BYTES

__all__ = [
    "COMPRESSIONS",
    "LARGE_FILES",
    "SMALL_FILES",
    "SMALL_FILE_BYTES",
    "ChunkListener",
    "ChunkRef",
    "ChunkSizes",
    "Compression",
    "CorruptChunk",
    "Entry",
    "Manifest",
    "MissingChunk",
    "NotEnoughSpace",
    "PackResult",
    "Piece",
    "PiecedManifest",
    "RestoreResult",
    "SnapshotError",
    "Span",
    "StagedFrame",
    "WorkspaceChanged",
    "pack",
    "restore",
    "split_manifest",
]
