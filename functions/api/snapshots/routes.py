"""Snapshots: `/api/v1/snapshots…`, and `/api/snapshots…` of the older documents."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from api.responses import json_response
from api.routing import Caller, DomainRoutes
from api.schemas import Envelope, ListEnvelope, PageView, SnapshotId
from api.snapshots.schemas import (
    CreatedSnapshotSummaryView,
    NewSnapshotRequest,
    RestoreRequest,
    SnapshotSummaryView,
    SnapshotView,
    human_bytes,
    snapshot_summary,
    snapshot_view,
)
from dumont_core import composition

routes = DomainRoutes(tag="Snapshots")


@routes.operation(
    "POST",
    "/api/v1/snapshots",
    Envelope[SnapshotView],
    "snapshots.manage",
    status=202,
    errors=(400, 404, 409),
)
def create_snapshot(caller: Caller, body: Annotated[NewSnapshotRequest, Body(embed=False)]) -> Response[str]:
    """Take a snapshot

    The instance's agent packs its workspace into LZ4-compressed, content-addressed chunks and uploads
    those S3 does not hold yet. The snapshot moves `compressing → uploading → verifying → completed` (or
    `failed`, with `status_reason`); the machine is never stopped for it."""
    snapshot = composition.snapshots().create(caller, body.instance_id, body.name, body.compression)
    return json_response(Envelope[SnapshotView](data=snapshot_view(snapshot)), 202)


@routes.operation("GET", "/api/v1/snapshots", ListEnvelope[SnapshotView], "snapshots.view", errors=(400,))
def list_snapshots(
    caller: Caller,
    instance_id: Annotated[str | None, Query(max_length=64, description="Only this instance's")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response[str]:
    """List snapshots

    Your team's snapshots, newest first."""
    snapshots = composition.snapshots().list_snapshots(caller, instance_id)
    start = (page - 1) * per_page
    return json_response(
        ListEnvelope[SnapshotView](
            data=[snapshot_view(snapshot) for snapshot in snapshots[start : start + per_page]],
            meta=PageView(page=page, per_page=per_page, total=len(snapshots)),
        )
    )


@routes.operation(
    "GET", "/api/v1/snapshots/{snapshot_id}", Envelope[SnapshotView], "snapshots.view", errors=(404,)
)
def get_snapshot(caller: Caller, snapshot_id: SnapshotId) -> Response[str]:
    """Get a snapshot"""
    snapshot = composition.snapshots().get(caller, snapshot_id)
    return json_response(Envelope[SnapshotView](data=snapshot_view(snapshot)))


@routes.operation(
    "DELETE", "/api/v1/snapshots/{snapshot_id}", Envelope[SnapshotView], "snapshots.manage", errors=(404, 409)
)
def delete_snapshot(caller: Caller, snapshot_id: SnapshotId) -> Response[str]:
    """Delete a snapshot

    Chunks that another snapshot of your team still uses are kept. The snapshot holding a hibernated
    instance's workspace cannot be deleted (409)."""
    snapshot = composition.snapshots().delete(caller, snapshot_id)
    return json_response(Envelope[SnapshotView](data=snapshot_view(snapshot)))


@routes.operation(
    "POST",
    "/api/v1/snapshots/{snapshot_id}/restore",
    Envelope[SnapshotView],
    "snapshots.manage",
    status=202,
    errors=(400, 404, 409),
)
def restore_snapshot(
    caller: Caller,
    snapshot_id: SnapshotId,
    body: Annotated[RestoreRequest | None, Body(embed=False)] = None,
) -> Response[str]:
    """Restore a snapshot onto an instance

    Onto the instance it was taken of, unless the body names another (`instance_id`). The instance's
    agent downloads every chunk and checks its SHA-256 before it touches the workspace: a corrupted
    snapshot is refused, and the workspace is left as it was."""
    instance_id = body.instance_id if body is not None else None
    snapshot = composition.snapshots().restore(caller, snapshot_id, instance_id)
    return json_response(Envelope[SnapshotView](data=snapshot_view(snapshot)), 202)


@routes.operation(
    "POST",
    "/api/snapshots",
    CreatedSnapshotSummaryView,
    "snapshots.manage",
    status=202,
    errors=(400, 404, 409),
    tag="Unversioned",
)
def create_snapshot_unversioned(
    caller: Caller, body: Annotated[NewSnapshotRequest, Body(embed=False)]
) -> Response[str]:
    """Take a snapshot (unversioned)"""
    snapshot = composition.snapshots().create(caller, body.instance_id, body.name, body.compression)
    started = CreatedSnapshotSummaryView(
        snapshot_id=snapshot.snapshot_id,
        status=snapshot.status,
        estimated_size=human_bytes(snapshot.estimated_bytes),
    )
    return json_response(started, 202)


@routes.operation(
    "GET",
    "/api/snapshots/{snapshot_id}",
    SnapshotSummaryView,
    "snapshots.view",
    errors=(404,),
    tag="Unversioned",
)
def get_snapshot_unversioned(caller: Caller, snapshot_id: SnapshotId) -> Response[str]:
    """Get a snapshot (unversioned)"""
    return json_response(snapshot_summary(composition.snapshots().get(caller, snapshot_id)))
