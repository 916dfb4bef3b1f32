"""Snapshots (`/api/v1/snapshots…`, `/api/snapshots…`), hibernation and waking."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict, Field

from api.context import authorize, error_responses, json_response, ok_response
from api.schemas import Envelope, ListEnvelope, PageMeta
from dumont_core.data.snapshots import SnapshotItem
from dumont_core.models import utc_now
from dumont_core.services.snapshot_factory import snapshot_service
from dumont_core.settings import get_settings

router = APIGatewayRouter()

SnapshotId = Annotated[str, Path(description="Snapshot id, e.g. snap_9a1b…", max_length=64)]
InstanceId = Annotated[str, Path(description="Instance id, e.g. inst_3f9c…", max_length=64)]
GIB = 1024**3


class NewSnapshotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_id: str = Field(max_length=64, examples=["inst_3f9c2a7b1d4e6f80"])
    name: str | None = Field(default=None, max_length=128, examples=["Before Upgrade"])
    compression: Literal["lz4"] = "lz4"


class RestoreBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance_id: str = Field(max_length=64, description="A running instance of your team to restore onto")


class SnapshotOut(BaseModel):
    id: str
    instance_id: str
    name: str | None
    status: Literal["compressing", "uploading", "verifying", "completed", "failed"]
    status_reason: str | None
    purpose: Literal["manual", "hibernate"]
    compression: str
    size_bytes: int | None = Field(description="Bytes of workspace the snapshot holds")
    size_gb: float | None
    stored_bytes: int | None = Field(description="Compressed bytes of its chunks in S3")
    uploaded_bytes: int | None = Field(description="What this snapshot uploaded; chunks S3 held were reused")
    compression_ratio: float | None
    upload_speed_mb_per_second: float | None
    file_count: int | None
    created_at: datetime
    completed_at: datetime | None


class LegacyCreatedSnapshot(BaseModel):
    snapshot_id: str
    status: str
    estimated_size: str | None


class LegacySnapshot(BaseModel):
    snapshot_id: str
    status: str
    size: str | None
    compression_ratio: float | None
    upload_speed: str | None


class HibernateAnswer(BaseModel):
    message: str
    status: str
    snapshot_id: str
    savings_per_hour: float = Field(description="What the machine costs per hour; not billed once hibernated")


class WakeAnswer(BaseModel):
    message: str
    status: str
    estimated_ready: datetime


def _ratio(snapshot: SnapshotItem) -> float | None:
    if not snapshot.size_bytes or not snapshot.stored_bytes:
        return None
    return round(float(snapshot.size_bytes) / float(snapshot.stored_bytes), 2)


def _speed(snapshot: SnapshotItem) -> float | None:
    if not snapshot.upload_seconds or snapshot.uploaded_bytes is None:
        return None
    return round(float(snapshot.uploaded_bytes) / float(snapshot.upload_seconds) / 1e6, 1)


def snapshot_out(snapshot: SnapshotItem) -> SnapshotOut:
    size = int(snapshot.size_bytes) if snapshot.size_bytes is not None else None
    return SnapshotOut(
        id=snapshot.snapshot_id,
        instance_id=snapshot.instance_id,
        name=snapshot.name,
        status=snapshot.status,
        status_reason=snapshot.status_reason,
        purpose=snapshot.purpose,
        compression=snapshot.compression,
        size_bytes=size,
        size_gb=round(size / GIB, 3) if size is not None else None,
        stored_bytes=int(snapshot.stored_bytes) if snapshot.stored_bytes is not None else None,
        uploaded_bytes=int(snapshot.uploaded_bytes) if snapshot.uploaded_bytes is not None else None,
        compression_ratio=_ratio(snapshot),
        upload_speed_mb_per_second=_speed(snapshot),
        file_count=int(snapshot.file_count) if snapshot.file_count is not None else None,
        created_at=snapshot.created_at,
        completed_at=snapshot.completed_at,
    )


def _human_bytes(size: float | None) -> str | None:
    if size is None:
        return None
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f}{unit}" if unit != "B" else f"{int(size)}B"
        size /= 1024
    return None


@router.post(
    "/api/v1/snapshots",
    summary="Take a snapshot",
    description="The instance's agent packs its workspace into LZ4-compressed, content-addressed chunks and "
    "uploads those S3 does not hold yet. The snapshot moves `compressing → uploading → verifying → "
    "completed` (or `failed`, with `status_reason`); the machine is never stopped for it.",
    responses={
        **ok_response(Envelope[SnapshotOut], "Snapshot started", 202),
        **error_responses(400, 401, 403, 404, 409),
    },
    tags=["Snapshots"],
)
def create_snapshot(body: Annotated[NewSnapshotBody, Body(embed=False)]) -> Response[str]:
    principal = authorize(router, "snapshots.manage")
    snapshot = snapshot_service().create(principal, body.instance_id, body.name, body.compression)
    return json_response(Envelope[SnapshotOut](data=snapshot_out(snapshot)), 202)


@router.get(
    "/api/v1/snapshots",
    summary="List snapshots",
    description="Your team's snapshots, newest first.",
    responses={
        **ok_response(ListEnvelope[SnapshotOut], "A page of snapshots"),
        **error_responses(400, 401, 403),
    },
    tags=["Snapshots"],
)
def list_snapshots(
    instance_id: Annotated[str | None, Query(max_length=64, description="Only this instance's")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response[str]:
    snapshots = snapshot_service().list_snapshots(authorize(router, "snapshots.view"), instance_id)
    start = (page - 1) * per_page
    return json_response(
        ListEnvelope[SnapshotOut](
            data=[snapshot_out(snapshot) for snapshot in snapshots[start : start + per_page]],
            meta=PageMeta(page=page, per_page=per_page, total=len(snapshots)),
        )
    )


@router.get(
    "/api/v1/snapshots/<snapshot_id>",
    summary="Get a snapshot",
    responses={**ok_response(Envelope[SnapshotOut], "The snapshot"), **error_responses(401, 403, 404)},
    tags=["Snapshots"],
)
def get_snapshot(snapshot_id: SnapshotId) -> Response[str]:
    snapshot = snapshot_service().get(authorize(router, "snapshots.view"), snapshot_id)
    return json_response(Envelope[SnapshotOut](data=snapshot_out(snapshot)))


@router.delete(
    "/api/v1/snapshots/<snapshot_id>",
    summary="Delete a snapshot",
    description="Chunks that another snapshot of your team still uses are kept. The snapshot holding a "
    "hibernated instance's workspace cannot be deleted (409).",
    responses={
        **ok_response(Envelope[SnapshotOut], "The deleted snapshot"),
        **error_responses(401, 403, 404, 409),
    },
    tags=["Snapshots"],
)
def delete_snapshot(snapshot_id: SnapshotId) -> Response[str]:
    snapshot = snapshot_service().delete(authorize(router, "snapshots.manage"), snapshot_id)
    return json_response(Envelope[SnapshotOut](data=snapshot_out(snapshot)))


@router.post(
    "/api/v1/snapshots/<snapshot_id>/restore",
    summary="Restore a snapshot onto an instance",
    description="The instance's agent downloads every chunk and checks its SHA-256 before it touches the "
    "workspace: a corrupted snapshot is refused, and the workspace is left as it was.",
    responses={
        **ok_response(Envelope[SnapshotOut], "Restore started", 202),
        **error_responses(400, 401, 403, 404, 409),
    },
    tags=["Snapshots"],
)
def restore_snapshot(
    snapshot_id: SnapshotId, body: Annotated[RestoreBody, Body(embed=False)]
) -> Response[str]:
    principal = authorize(router, "snapshots.manage")
    snapshot = snapshot_service().restore(principal, snapshot_id, body.instance_id)
    return json_response(Envelope[SnapshotOut](data=snapshot_out(snapshot)), 202)


@router.post(
    "/api/snapshots",
    summary="Take a snapshot (unversioned)",
    responses={
        **ok_response(LegacyCreatedSnapshot, "Snapshot started", 202),
        **error_responses(400, 401, 403, 404, 409),
    },
    tags=["Unversioned"],
)
def legacy_create_snapshot(body: Annotated[NewSnapshotBody, Body(embed=False)]) -> Response[str]:
    principal = authorize(router, "snapshots.manage")
    snapshot = snapshot_service().create(principal, body.instance_id, body.name, body.compression)
    return json_response(
        LegacyCreatedSnapshot(snapshot_id=snapshot.snapshot_id, status=snapshot.status, estimated_size=None),
        202,
    )


@router.get(
    "/api/snapshots/<snapshot_id>",
    summary="Get a snapshot (unversioned)",
    responses={**ok_response(LegacySnapshot, "The snapshot"), **error_responses(401, 403, 404)},
    tags=["Unversioned"],
)
def legacy_get_snapshot(snapshot_id: SnapshotId) -> Response[str]:
    snapshot = snapshot_service().get(authorize(router, "snapshots.view"), snapshot_id)
    speed = _speed(snapshot)
    return json_response(
        LegacySnapshot(
            snapshot_id=snapshot.snapshot_id,
            status=snapshot.status,
            size=_human_bytes(float(snapshot.size_bytes) if snapshot.size_bytes is not None else None),
            compression_ratio=_ratio(snapshot),
            upload_speed=f"{_human_bytes(speed * 1e6)}/s" if speed is not None else None,
        )
    )


@router.post(
    "/api/instances/<instance_id>/hibernate",
    summary="Hibernate an instance",
    description="Snapshots the workspace, verifies it, then destroys the machine: nothing is billed until "
    "it wakes. If the snapshot fails the machine keeps running and the instance says why.",
    responses={**ok_response(HibernateAnswer, "Hibernating"), **error_responses(401, 403, 404, 409)},
    tags=["Hibernation"],
)
def hibernate(instance_id: InstanceId) -> Response[str]:
    principal = authorize(router, "instances.operate")
    instance, snapshot = snapshot_service().hibernate(principal, instance_id, "hibernation requested")
    return json_response(
        HibernateAnswer(
            message="Instance hibernating: its workspace is being saved, then the machine is released",
            status=instance.status.value,
            snapshot_id=snapshot.snapshot_id,
            savings_per_hour=round(instance.cost_per_hour or 0.0, 4),
        )
    )


@router.post(
    "/api/instances/<instance_id>/wake",
    summary="Wake a hibernated instance",
    description="Rents a matching machine, restores the workspace onto it, and runs again with the same id.",
    responses={**ok_response(WakeAnswer, "Waking"), **error_responses(401, 403, 404, 409)},
    tags=["Hibernation"],
)
def wake(instance_id: InstanceId) -> Response[str]:
    instance = snapshot_service().wake(authorize(router, "instances.operate"), instance_id)
    ready = utc_now() + timedelta(seconds=get_settings().estimated_ready_seconds * 2)
    return json_response(
        WakeAnswer(message="Instance waking up", status=instance.status.value, estimated_ready=ready)
    )
