"""Workspace snapshots: pack a directory into content-addressed chunks, restore it verified or not at all.

A snapshot is a manifest (`Manifest.to_bytes`) and the chunks it names. Every chunk is one LZ4 frame
stored under the SHA-256 of its uncompressed bytes, so a chunk that is already stored never has to be
uploaded again, and every byte restored is checked against the digest it was stored under.

- A file of `SMALL_FILE_BYTES` or more is cut into pieces of `CHUNK_BYTES`, one chunk each.
- Smaller files go, in walk order, into bundle chunks: each a tar stream of consecutive files. A bundle
  ends after a file whose path hashes below `BUNDLE_BOUNDARY_BELOW` (about 1 file in 32), or once it
  holds `BUNDLE_TARGET_BYTES`. Ending bundles where the paths say, not where a byte count falls, keeps
  the bundles after a changed file identical, so a second snapshot uploads only the changed bundle.
- The manifest records every regular file, directory and symlink: mode, mtime and, for files, which
  bytes of which chunks make up the content.

No network I/O happens here: `pack` writes frames into a staging directory for the caller to upload,
and `restore` asks the caller's `fetch` for each frame. Hashing and LZ4 release the GIL, so they run on
`workers` threads; the walking thread reads the small files, the workers read the pieces of large ones.
A few chunks per worker at most are in memory, however large the workspace.

Not kept: owners and groups (restored files belong to whoever restores them), hard links (each path
gets a copy), extended attributes, ACLs and holes in sparse files. Sockets, FIFOs and device nodes are
skipped and listed in `PackResult.skipped`.

This package's modules, in the order a snapshot passes through them:

- `walk`: the workspace's entries, and its files cut into chunk jobs;
- `reading`: each file read as the walk saw it, or WorkspaceChanged;
- `bundles`: the tar streams of small files;
- `chunks`: content-addressed LZ4 frames, staged when packing and verified when restoring;
- `pipeline`: the bounded thread pool the chunks go through;
- `packing` and `restoring`: `pack` and `restore`;
- `manifest` and `errors`: what a snapshot is made of, and what can go wrong.

Import the names below from here, not from the modules.
"""

from dumont_agent.snapshot.bundles import BUNDLE_BOUNDARY_BELOW, BUNDLE_TARGET_BYTES
from dumont_agent.snapshot.errors import (
    CorruptChunk,
    MissingChunk,
    NotEnoughSpace,
    SnapshotError,
    WorkspaceChanged,
)
from dumont_agent.snapshot.manifest import ChunkRef, Entry, Manifest, Span
from dumont_agent.snapshot.packing import PackResult, pack
from dumont_agent.snapshot.restoring import RestoreResult, restore
from dumont_agent.snapshot.walk import CHUNK_BYTES, SMALL_FILE_BYTES

__all__ = [
    "BUNDLE_BOUNDARY_BELOW",
    "BUNDLE_TARGET_BYTES",
    "CHUNK_BYTES",
    "SMALL_FILE_BYTES",
    "ChunkRef",
    "CorruptChunk",
    "Entry",
    "Manifest",
    "MissingChunk",
    "NotEnoughSpace",
    "PackResult",
    "RestoreResult",
    "SnapshotError",
    "Span",
    "WorkspaceChanged",
    "pack",
    "restore",
]
