"""Every snapshot status against delete and restore, and the snapshot that holds a hibernated instance's
workspace, through the API function as API Gateway invokes it. A snapshot still being taken is neither
deleted nor restored; only a completed one is restored; the only copy of a workspace whose machine is
gone is never deleted. What is allowed is written out here, apart from the rules themselves."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from dumont_core.instances.models import EventType, Instance, InstanceEvent, InstanceStatus
from dumont_core.instances.repository import InstanceRepository
from dumont_core.platform.identity import Principal
from dumont_core.platform.workflows import Workflow
from dumont_core.snapshots.models import Snapshot
from dumont_core.snapshots.repository import SnapshotRepository
from tests.fakes.api_gateway import answer_body, rest_event
from tests.integration.conftest import API_ENVIRONMENT, EVENT_RETENTION, REGION, ApiFunction
from tests.integration.snapshots.conftest import stored_snapshot

TEAM = "team_00000000000000aa"
OWNER = Principal(
    account_id="acct_00000000000000aa",
    team_id=TEAM,
    role="admin",
    plan="pro",
    permissions=frozenset({"snapshots.view", "snapshots.manage"}),
)
INSTANCE_ID = "inst_00000000000000aa"
SNAPSHOT_ID = "snap_00000000000000aa"
OLDER_SNAPSHOT_ID = "snap_00000000000000bb"
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

SNAPSHOT_STATES = ["compressing", "uploading", "verifying", "completed", "failed"]
DELETABLE = {"completed", "failed"}
RESTORABLE = {"completed"}
WORKSPACE_ONLY_IN_SNAPSHOT = ["hibernated", "interrupted", "waking"]
"""Instance states in which the machine is gone (or being replaced) and the last snapshot is the workspace."""


@pytest.fixture
def api(api_function: ApiFunction) -> ApiFunction:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=API_ENVIRONMENT["SNAPSHOT_BUCKET"])
    return api_function


def instance_in(status: str, last_snapshot_id: str | None = SNAPSHOT_ID) -> Instance:
    instance = Instance(
        instance_id=INSTANCE_ID,
        account_id=OWNER.account_id,
        team_id=TEAM,
        gpu_type="RTX_4090",
        image="pytorch/pytorch:latest",
        disk_gb=50,
        status=InstanceStatus(status),
        last_snapshot_id=last_snapshot_id,
        created_at=NOW,
        updated_at=NOW,
    )
    InstanceRepository(event_retention=EVENT_RETENTION).create(
        instance, InstanceEvent.of(EventType.CREATED, instance)
    )
    return instance


def snapshot_in(status: str, snapshot_id: str = SNAPSHOT_ID) -> Snapshot:
    return stored_snapshot(INSTANCE_ID, status, snapshot_id, team_id=TEAM, at=NOW)


def still_there(snapshot_id: str = SNAPSHOT_ID) -> bool:
    return SnapshotRepository().get(TEAM, snapshot_id) is not None


def delete(api: ApiFunction, snapshot_id: str = SNAPSHOT_ID) -> dict:
    return api(
        rest_event("DELETE", "/api/v1/snapshots/{snapshot_id}", {"snapshot_id": snapshot_id}, principal=OWNER)
    )


RESTORE_ROUTE = "/api/v1/snapshots/{snapshot_id}/restore"


def restore(api: ApiFunction) -> dict:
    return api(rest_event("POST", RESTORE_ROUTE, {"snapshot_id": SNAPSHOT_ID}, principal=OWNER, body={}))


def test_the_table_names_every_snapshot_status_there_is() -> None:
    assert set(Snapshot.model_fields["status"].annotation.__args__) == set(SNAPSHOT_STATES)  # type: ignore[union-attr]


@pytest.mark.parametrize("status", SNAPSHOT_STATES)
def test_only_a_completed_or_failed_snapshot_is_deleted(api: ApiFunction, status: str) -> None:
    instance_in("running")
    snapshot_in(status)
    answer = delete(api)
    body = answer_body(answer)
    if status in DELETABLE:
        assert answer["statusCode"] == 200, body
        assert not still_there()
    else:
        assert answer["statusCode"] == 409, body
        assert body["error"]["code"] == "CONFLICT"
        assert body["error"]["details"]["status"] == status
        assert still_there(), "a snapshot still being taken is kept"


@pytest.mark.parametrize("status", SNAPSHOT_STATES)
def test_only_a_completed_snapshot_is_restored(api: ApiFunction, status: str) -> None:
    instance_in("running")
    snapshot_in(status)
    answer = restore(api)
    body = answer_body(answer)
    if status in RESTORABLE:
        assert answer["statusCode"] == 202, body
        assert [workflow for workflow, _, _ in api.starter.started] == [Workflow.RESTORE]
    else:
        assert answer["statusCode"] == 409, body
        assert body["error"]["code"] == "CONFLICT"
        assert body["error"]["details"]["status"] == status
        assert api.starter.started == [], "nothing is restored from an incomplete snapshot"


def test_a_restore_with_no_body_at_all_goes_into_the_snapshot_s_own_instance(api: ApiFunction) -> None:
    instance_in("running")
    snapshot_in("completed")

    answer = api(rest_event("POST", RESTORE_ROUTE, {"snapshot_id": SNAPSHOT_ID}, principal=OWNER))

    assert answer["statusCode"] == 202, answer["body"]
    [(workflow, _, payload)] = api.starter.started
    assert workflow == Workflow.RESTORE
    assert (
        payload["instance"]["instance_id"] == INSTANCE_ID
        and payload["snapshot"]["snapshot_id"] == SNAPSHOT_ID
    )


@pytest.mark.parametrize("status", sorted({state.value for state in InstanceStatus} - {"running"}))
def test_a_completed_snapshot_is_restored_only_onto_a_running_instance(api: ApiFunction, status: str) -> None:
    instance_in(status)
    snapshot_in("completed")
    answer = restore(api)
    assert answer["statusCode"] == 409, answer["body"]
    assert answer_body(answer)["error"]["details"]["allowed_states"] == ["running"]
    assert api.starter.started == []


@pytest.mark.parametrize("instance_status", WORKSPACE_ONLY_IN_SNAPSHOT)
def test_the_snapshot_holding_a_workspace_whose_machine_is_gone_is_never_deleted(
    api: ApiFunction, instance_status: str
) -> None:
    instance_in(instance_status)
    snapshot_in("completed")
    snapshot_in("completed", OLDER_SNAPSHOT_ID)

    answer = delete(api)
    body = answer_body(answer)
    assert answer["statusCode"] == 409, body
    assert body["error"]["code"] == "CONFLICT"
    assert body["error"]["details"] == {"snapshot_id": SNAPSHOT_ID, "instance_id": INSTANCE_ID}
    assert still_there(), "the only copy of the workspace is kept"

    assert delete(api, OLDER_SNAPSHOT_ID)["statusCode"] == 200, "an older snapshot of it is not the workspace"
    assert not still_there(OLDER_SNAPSHOT_ID)


@pytest.mark.parametrize("instance_status", ["running", "stopped", "failed"])
def test_the_last_snapshot_of_an_instance_that_has_its_machine_can_be_deleted(
    api: ApiFunction, instance_status: str
) -> None:
    instance_in(instance_status)
    snapshot_in("completed")
    assert delete(api)["statusCode"] == 200
    assert not still_there()
