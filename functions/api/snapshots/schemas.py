"""Requests and answers of the snapshot routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field

from api.schemas import RequestBody, View
from dumont_core.snapshots.models import Snapshot, SnapshotPurpose, SnapshotStatus

GIB = 1024**3


class NewSnapshotRequest(RequestBody):
    instance_id: str = Field(max_length=64, examples=["inst_3f9c2a7b1d4e6f80"])
    name: str | None = Field(default=None, max_length=128, examples=["Before Upgrade"])
    compression: Literal["lz4", "zstd"] = Field(
        default="lz4",
        description="lz4 (the default) or zstd: Zstandard at a low level, smaller, about as fast",
    )


class RestoreRequest(RequestBody):
    instance_id: str | None = Field(
        default=None,
        max_length=64,
        description="A running instance of your team to restore onto; the snapshot's own when left out",
    )


class SnapshotView(View):
    """A snapshot of an instance's workspace."""

    id: str = Field(validation_alias=AliasChoices("id", "snapshot_id"))
    instance_id: str
    name: str | None
    status: SnapshotStatus
    status_reason: str | None
    purpose: SnapshotPurpose
    compression: str
    size_bytes: int | None = Field(description="Bytes of workspace the snapshot holds")
    size_gb: float | None
    stored_bytes: int | None = Field(description="Compressed bytes of its chunks in S3")
    uploaded_bytes: int | None = Field(description="What this snapshot uploaded; chunks S3 held were reused")
    compression_ratio: float | None
    upload_speed_mb_per_second: float | None = Field(
        validation_alias=AliasChoices("upload_speed_mb_per_second", "upload_megabytes_per_second")
    )
    file_count: int | None
    created_at: datetime
    completed_at: datetime | None


class CreatedSnapshotSummaryView(View):
    """A snapshot just started, as the older documents show it."""

    snapshot_id: str
    status: str
    estimated_size: str | None


class SnapshotSummaryView(View):
    """A snapshot as the older documents show it: sizes and speeds for people to read."""

    snapshot_id: str
    status: str
    size: str | None
    compression_ratio: float | None
    upload_speed: str | None


def snapshot_view(snapshot: Snapshot) -> SnapshotView:
    size = snapshot.size_bytes
    return SnapshotView.model_validate(
        {
            **snapshot.model_dump(),
            "size_gb": round(size / GIB, 3) if size is not None else None,
            "compression_ratio": snapshot.compression_ratio,
            "upload_megabytes_per_second": snapshot.upload_megabytes_per_second,
        }
    )


def human_bytes(size: float | None) -> str | None:
    """`5.4MB` for 5,400,000 bytes: decimal units, as their names say (and as the seeds' figures are)."""
    if size is None:
        return None
    for unit in ("B", "KB", "MB"):
        if size < 1000:
            return f"{int(size)}B" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1000
    return f"{size:.1f}GB"


def snapshot_summary(snapshot: Snapshot) -> SnapshotSummaryView:
    speed = snapshot.upload_megabytes_per_second
    return SnapshotSummaryView(
        snapshot_id=snapshot.snapshot_id,
        status=snapshot.status,
        # What it takes in storage: seed 002's `size` is its estimated size over its compression ratio.
        size=human_bytes(snapshot.stored_bytes),
        compression_ratio=snapshot.compression_ratio,
        upload_speed=f"{human_bytes(speed * 1e6)}/s" if speed is not None else None,
    )
