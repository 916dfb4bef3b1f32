"""Small files are stored as tar streams any tar reader can extract, with the headers tarfile writes."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import lz4.frame
import pytest

from dumont_agent.snapshot import bundles, pack, walk


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
