"""Workspace snapshots: what comes back is byte for byte what was packed, or the workspace is untouched.

Chunk sizes are made small here, so multi-chunk files and several bundles take a few KiB.
"""

from __future__ import annotations

import errno
import io
import os
import random
import tarfile
from collections.abc import Callable
from pathlib import Path

import lz4.frame
import pytest

from dumont_agent.snapshot import (
    ChunkRef,
    CorruptChunk,
    Entry,
    Manifest,
    MissingChunk,
    NotEnoughSpace,
    SnapshotError,
    Span,
    WorkspaceChanged,
    bundles,
    chunks,
    pack,
    restore,
    restoring,
    walk,
)

KIB = 1024
MTIME_NS = 1_700_000_000_123_456_789
NON_UTF8_NAME = os.fsdecode(b"caf\xe9.txt")


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(walk, "CHUNK_BYTES", 64 * KIB)
    monkeypatch.setattr(walk, "SMALL_FILE_BYTES", 16 * KIB)
    monkeypatch.setattr(bundles, "BUNDLE_TARGET_BYTES", 32 * KIB)


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
    write(root / "model.pt", rng.randbytes(200 * KIB + 123))  # four pieces, the last one short
    write(root / "zeros.bin", bytes(130 * KIB))  # its two full pieces are the same chunk
    write(root / "run.sh", b"#!/bin/sh\necho hi\n", mode=0o755)
    write(root / "secret.key", b"k" * 33, mode=0o600)
    write(root / "src/pkg/deep/module.py", b"print('deep')\n", mtime_ns=MTIME_NS - 10**9)
    write(root / ("long-" * 30 + "name.py"), b"long name: a PAX header in the bundle\n")
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


def fetch_from(*stagings: Path) -> Callable[[str], bytes]:
    def fetch(digest: str) -> bytes:
        for staging in stagings:
            if (staging / digest).exists():
                return (staging / digest).read_bytes()
        raise FileNotFoundError(f"no chunk {digest}")

    return fetch


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "workspace")


def test_a_restored_workspace_is_identical_to_the_packed_one(workspace: Path, tmp_path: Path) -> None:
    expected = tree(workspace)
    packed = pack(workspace, tmp_path / "staging", workers=3)
    manifest = Manifest.from_bytes(packed.manifest.to_bytes())

    restored = restore(manifest, fetch_from(tmp_path / "staging"), tmp_path / "restored", workers=3)

    assert tree(tmp_path / "restored") == expected
    assert restored.files == manifest.file_count == sum(1 for kind, *_ in expected.values() if kind == "file")
    assert restored.bytes == manifest.total_bytes
    assert len(manifest.digests) == len(set(manifest.digests)) == len(packed.written)
    assert {path.name for path in (tmp_path / "staging").iterdir()} == set(manifest.digests)
    assert packed.stored_bytes == sum(path.stat().st_size for path in (tmp_path / "staging").iterdir())
    assert packed.compression_ratio == manifest.total_bytes / packed.stored_bytes


def test_restore_replaces_an_existing_workspace_entirely(workspace: Path, tmp_path: Path) -> None:
    expected = tree(workspace)
    packed = pack(workspace, tmp_path / "staging")
    target = tmp_path / "target"
    write(target / "stale.txt", b"from before the snapshot")
    write(target / "notes.md", b"older notes")

    restore(packed.manifest, fetch_from(tmp_path / "staging"), target)

    assert tree(target) == expected
    assert sorted(path.name for path in tmp_path.iterdir()) == ["staging", "target", "workspace"]


def test_small_files_are_bundled_into_tar_streams(workspace: Path, tmp_path: Path) -> None:
    packed = pack(workspace, tmp_path / "staging")
    manifest = packed.manifest
    bundled = {
        entry.path: entry
        for entry in manifest.entries
        if entry.kind == "file" and 0 < entry.size < walk.SMALL_FILE_BYTES
    }
    bundle_numbers = {entry.spans[0].chunk for entry in bundled.values()}
    assert 1 < len(bundle_numbers) < len(bundled)

    names_in_bundles: set[str] = set()
    for number in bundle_numbers:
        frame = (tmp_path / "staging" / manifest.chunks[number].digest).read_bytes()
        with tarfile.open(fileobj=io.BytesIO(lz4.frame.decompress(frame)), mode="r:") as bundle:
            for member in bundle.getmembers():
                assert member.isfile()
                assert member.mode == bundled[member.name].mode
                extracted = bundle.extractfile(member)
                assert extracted is not None
                assert extracted.read() == (workspace / member.name).read_bytes()
                names_in_bundles.add(member.name)
    assert names_in_bundles == set(bundled)


@pytest.mark.parametrize(
    ("name", "size", "mode"),
    [
        ("src/a.py", 5, 0o644),
        ("bin/tool", 1 << 30, 0o4755),
        ("d/" * 60 + "long.txt", 7, 0o600),
        ("é.txt", 3, 0o640),
    ],
)
def test_bundle_headers_are_what_tarfile_writes(name: str, size: int, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, 0

    assert bundles.tar_header(name, size, mode) == info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def test_packing_twice_gives_the_same_chunks(workspace: Path, tmp_path: Path) -> None:
    first = pack(workspace, tmp_path / "first", workers=1)
    second = pack(workspace, tmp_path / "second", workers=4)

    assert first.manifest.chunks == second.manifest.chunks
    assert first.manifest.entries == second.manifest.entries


def test_a_second_pack_writes_only_the_chunks_that_changed(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    rng = random.Random(2)
    for index in range(300):
        write(workspace / f"src/module_{index:03d}.py", rng.randbytes(rng.randrange(100, 3000)))
    write(workspace / "weights.bin", rng.randbytes(640 * KIB))
    first = pack(workspace, tmp_path / "first")

    with (workspace / "src/module_150.py").open("ab") as file:
        file.write(b"# two more KiB, so the file grows\n" * 60)
    with (workspace / "weights.bin").open("r+b") as file:
        file.seek(300 * KIB)
        file.write(b"fine-tuned")
    second = pack(
        workspace,
        tmp_path / "second",
        known=first.manifest.digests,
        known_sizes=first.manifest.stored_sizes,
    )

    assert len(second.written) == 2  # the changed file's bundle, and the changed piece of the large file
    assert second.written_bytes < first.written_bytes * 0.1
    assert sorted(path.name for path in (tmp_path / "second").iterdir()) == sorted(
        chunk.digest for chunk in second.written
    )
    assert second.stored_bytes == sum(chunk.stored_size for chunk in second.manifest.chunks)
    expected = tree(workspace)
    restore(second.manifest, fetch_from(tmp_path / "first", tmp_path / "second"), tmp_path / "restored")
    assert tree(tmp_path / "restored") == expected


def test_known_chunks_are_hashed_but_not_compressed_again(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pack(workspace, tmp_path / "first")
    compressed: list[int] = []
    original = chunks.compress_chunk

    def counting_compress(data: bytes) -> bytes:
        compressed.append(len(data))
        return original(data)

    monkeypatch.setattr(chunks, "compress_chunk", counting_compress)
    with_sizes = pack(
        workspace, tmp_path / "second", known=first.manifest.digests, known_sizes=first.manifest.stored_sizes
    )
    assert compressed == []
    assert with_sizes.written == []
    assert not (tmp_path / "second").exists() or not any((tmp_path / "second").iterdir())
    assert with_sizes.manifest.chunks == first.manifest.chunks

    # Without their sizes, known chunks are compressed to learn them, but still not written.
    without_sizes = pack(workspace, tmp_path / "third", known=set(first.manifest.digests))
    assert len(compressed) == len(first.manifest.chunks)
    assert without_sizes.written == []
    assert without_sizes.manifest.chunks == first.manifest.chunks


def flip_a_byte(frame: Path) -> None:
    data = bytearray(frame.read_bytes())
    data[len(data) // 2] ^= 0x40
    frame.write_bytes(bytes(data))


def other_chunks_frame(frame: Path) -> None:
    others = sorted(path for path in frame.parent.iterdir() if path != frame)
    frame.write_bytes(others[0].read_bytes())


def not_lz4(frame: Path) -> None:
    frame.write_bytes(b"<html>503 Service Unavailable</html>")


@pytest.mark.parametrize("damage", [flip_a_byte, other_chunks_frame, not_lz4])
def test_a_corrupt_chunk_fails_the_restore_and_leaves_the_workspace_untouched(
    workspace: Path, tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    packed = pack(workspace, tmp_path / "staging")
    target = tmp_path / "target"
    write(target / "work.txt", b"what the user has now")
    before = tree(target)
    largest = max(packed.manifest.chunks, key=lambda chunk: chunk.size)
    damage(tmp_path / "staging" / largest.digest)

    with pytest.raises(CorruptChunk) as raised:
        restore(packed.manifest, fetch_from(tmp_path / "staging"), target)

    assert raised.value.digest == largest.digest
    assert largest.digest in str(raised.value)
    assert tree(target) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["staging", "target", "workspace"]


def test_a_chunk_that_cannot_be_fetched_fails_the_restore(workspace: Path, tmp_path: Path) -> None:
    packed = pack(workspace, tmp_path / "staging")
    missing = packed.manifest.chunks[-1].digest
    (tmp_path / "staging" / missing).unlink()
    target = tmp_path / "target"
    write(target / "work.txt", b"what the user has now")
    before = tree(target)

    with pytest.raises(MissingChunk) as raised:
        restore(packed.manifest, fetch_from(tmp_path / "staging"), target)

    assert raised.value.digest == missing
    assert tree(target) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["staging", "target", "workspace"]


def test_a_missing_target_is_not_created_when_the_restore_fails(workspace: Path, tmp_path: Path) -> None:
    packed = pack(workspace, tmp_path / "staging")

    def unreachable(digest: str) -> bytes:
        raise ConnectionError("object storage unreachable")

    with pytest.raises(MissingChunk, match="object storage unreachable"):
        restore(packed.manifest, unreachable, tmp_path / "target")

    assert sorted(path.name for path in tmp_path.iterdir()) == ["staging", "workspace"]


def manifest_with(*entries: Entry, chunks: list[ChunkRef] | None = None) -> Manifest:
    root = Entry(".", "dir", 0o755, MTIME_NS)
    files = [entry for entry in entries if entry.kind == "file"]
    return Manifest(
        version=1,
        created_at="2025-03-01T12:00:00Z",
        entries=[root, *entries],
        chunks=chunks or [],
        total_bytes=sum(entry.size for entry in files),
        file_count=len(files),
    )


@pytest.mark.parametrize(
    "entries",
    [
        [Entry("../evil", "file", 0o644, MTIME_NS)],
        [Entry("/evil", "file", 0o644, MTIME_NS)],
        [Entry("a", "dir", 0o755, MTIME_NS), Entry("a/../../evil", "file", 0o644, MTIME_NS)],
        [Entry("..", "dir", 0o755, MTIME_NS)],
        # A file written through a symlink from the same manifest would land wherever it points.
        [Entry("link", "symlink", 0o777, MTIME_NS, target=".."), Entry("link/evil", "file", 0o644, MTIME_NS)],
        [Entry("missing-parent/evil", "file", 0o644, MTIME_NS)],
    ],
    ids=["dot-dot", "absolute", "dot-dot-inside", "dot-dot-directory", "through-symlink", "no-parent"],
)
def test_a_manifest_with_a_path_outside_the_workspace_is_refused(
    tmp_path: Path, entries: list[Entry]
) -> None:
    manifest = manifest_with(*entries)
    target = tmp_path / "area" / "target"
    write(target / "work.txt", b"what the user has now")
    before = tree(target)

    with pytest.raises(SnapshotError, match="manifest refused"):
        restore(manifest, fetch_from(tmp_path), target)
    with pytest.raises(SnapshotError, match="manifest refused"):
        Manifest.from_bytes(manifest.to_bytes())

    assert tree(target) == before
    assert [path.name for path in (tmp_path / "area").iterdir()] == ["target"]
    assert not (tmp_path / "evil").exists()


def test_a_manifest_whose_spans_do_not_fit_its_chunks_is_refused(tmp_path: Path) -> None:
    chunk = ChunkRef("ab" * 32, size=100, stored_size=120)
    beyond_the_chunk = manifest_with(
        Entry("a.txt", "file", 0o644, MTIME_NS, size=50, spans=(Span(0, 80, 50),)), chunks=[chunk]
    )
    no_such_chunk = manifest_with(
        Entry("a.txt", "file", 0o644, MTIME_NS, size=50, spans=(Span(1, 0, 50),)), chunks=[chunk]
    )
    short_of_the_size = manifest_with(
        Entry("a.txt", "file", 0o644, MTIME_NS, size=60, spans=(Span(0, 0, 50),)), chunks=[chunk]
    )
    for manifest in (beyond_the_chunk, no_such_chunk, short_of_the_size):
        with pytest.raises(SnapshotError, match="manifest refused"):
            Manifest.from_bytes(manifest.to_bytes())


def test_running_out_of_space_while_packing_removes_what_was_staged(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = chunks._write_atomically
    writes: list[Path] = []

    def disk_full_after_two(path: Path, data: bytes) -> None:
        if len(writes) >= 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        writes.append(path)
        original(path, data)

    monkeypatch.setattr(chunks, "_write_atomically", disk_full_after_two)
    staging = tmp_path / "staging"

    with pytest.raises(NotEnoughSpace, match="no space left"):
        pack(workspace, staging)

    assert len(writes) == 2
    assert list(staging.iterdir()) == []


def test_running_out_of_space_while_restoring_leaves_the_workspace_untouched(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed = pack(workspace, tmp_path / "staging")
    target = tmp_path / "target"
    write(target / "work.txt", b"what the user has now")
    before = tree(target)

    def disk_full(descriptor: int, content: memoryview, offset: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(restoring, "_write_all", disk_full)
    with pytest.raises(NotEnoughSpace):
        restore(packed.manifest, fetch_from(tmp_path / "staging"), target)

    assert tree(target) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["staging", "target", "workspace"]


def test_a_file_changing_while_it_is_packed_fails_the_pack(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = walk.PieceJob.run

    def run_after_a_write(job: walk.PieceJob, store: chunks.ChunkStore) -> str:
        with Path(job.path).open("ab") as file:
            file.write(b"still training")
        return original(job, store)

    monkeypatch.setattr(walk.PieceJob, "run", run_after_a_write)
    with pytest.raises(WorkspaceChanged, match="changed while it was being packed"):
        pack(workspace, tmp_path / "staging")
    assert list((tmp_path / "staging").iterdir()) == []


def test_special_files_and_the_staging_directory_are_not_packed(workspace: Path, tmp_path: Path) -> None:
    os.mkfifo(workspace / "pipe")
    staging = workspace / ".snapshot-staging"

    packed = pack(workspace, staging)

    assert packed.skipped == ("pipe",)
    paths = {entry.path for entry in packed.manifest.entries}
    assert "pipe" not in paths
    assert not any(path.startswith(".snapshot-staging") for path in paths)


def test_a_manifest_survives_serialization(workspace: Path, tmp_path: Path) -> None:
    manifest = pack(workspace, tmp_path / "staging").manifest

    assert Manifest.from_bytes(manifest.to_bytes()) == manifest
    assert manifest.version == 1
    assert manifest.created_at.endswith("Z")
    assert NON_UTF8_NAME in {entry.path for entry in manifest.entries}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a manifest at all",
        lz4.frame.compress(b"{not json"),
        lz4.frame.compress(b'["a", "list"]'),
        lz4.frame.compress(b'{"version": 1}'),
        lz4.frame.compress(
            b'{"version": 2, "created_at": "", "total_bytes": 0, "file_count": 0, "chunks": [], '
            b'"entries": [{"path": ".", "type": "dir", "mode": 493, "mtime_ns": 0}]}'
        ),
        lz4.frame.compress(
            b'{"version": 1, "created_at": "", "total_bytes": 0, "file_count": 0, "chunks": [], '
            b'"entries": [{"path": ".", "type": "dir", "mode": "rwx", "mtime_ns": 0}]}'
        ),
    ],
    ids=["empty", "text", "lz4-not-json", "json-list", "fields-missing", "newer-version", "mode-not-int"],
)
def test_a_damaged_manifest_is_refused(data: bytes) -> None:
    with pytest.raises(SnapshotError, match="manifest refused"):
        Manifest.from_bytes(data)


def test_an_empty_workspace_packs_and_restores(tmp_path: Path) -> None:
    (tmp_path / "workspace").mkdir()

    packed = pack(tmp_path / "workspace", tmp_path / "staging")
    restored = restore(packed.manifest, fetch_from(tmp_path / "staging"), tmp_path / "restored")

    assert packed.manifest.chunks == []
    assert packed.compression_ratio == 1.0
    assert restored.files == 0
    assert list((tmp_path / "restored").iterdir()) == []
