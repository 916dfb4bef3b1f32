"""Snapshots of a machine's workspace: what one is, how far it got, and the plans an agent is handed to
upload or download its chunks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from dumont_core.platform.errors import NotFound
from dumont_core.platform.models import DomainModel

SnapshotStatus = Literal["compressing", "uploading", "verifying", "completed", "failed"]
SnapshotPurpose = Literal["manual", "hibernate", "checkpoint"]
IN_PROGRESS: tuple[SnapshotStatus, ...] = ("compressing", "uploading", "verifying")
COMPRESSIONS = ("lz4", "zstd")
"""What the agent compresses chunks with: `lz4` (fastest), or `zstd` at a low level (smaller on text)."""


class Snapshot(DomainModel):
    snapshot_id: str
    instance_id: str
    account_id: str
    team_id: str
    name: str | None = None
    compression: str
    purpose: SnapshotPurpose
    """`manual`, `hibernate` for the snapshot a hibernation takes, or `checkpoint` for one taken every
    `checkpoint_interval_minutes` of an instance with failover on."""
    status: SnapshotStatus
    status_reason: str | None = None
    size_bytes: int | None = None
    """Bytes of workspace the snapshot holds."""
    estimated_bytes: int | None = None
    """The workspace's size as its agent last measured it when the snapshot was asked for."""
    stored_bytes: int | None = None
    """Compressed bytes of its chunks in S3."""
    uploaded_bytes: int | None = None
    """What this snapshot uploaded; chunks S3 already held were reused."""
    file_count: int | None = None
    chunk_count: int | None = None
    upload_seconds: float | None = None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None

    @property
    def compression_ratio(self) -> float | None:
        if not self.size_bytes or not self.stored_bytes:
            return None
        return round(self.size_bytes / self.stored_bytes, 2)

    @property
    def upload_megabytes_per_second(self) -> float | None:
        if not self.upload_seconds or self.uploaded_bytes is None:
            return None
        return round(self.uploaded_bytes / self.upload_seconds / 1e6, 1)


class ChunkPlan(DomainModel):
    digest: str
    size: int
    stored_size: int


class UploadPlan(DomainModel):
    uploads: dict[str, str]
    """digest -> presigned PUT URL, for the chunks S3 does not hold yet."""
    manifest_url: str


class DownloadPlan(DomainModel):
    manifest_url: str
    chunks: dict[str, str]
    """digest -> presigned GET URL."""


def snapshot_not_found(snapshot_id: str) -> NotFound:
    return NotFound("SNAPSHOT_NOT_FOUND", f"Snapshot {snapshot_id} not found", snapshot_id=snapshot_id)
