"""Snapshot records in the single table, and their chunks and manifests in S3.

| item       | PK               | SK                     |
|------------|------------------|------------------------|
| snapshot   | `TEAM#{team_id}` | `SNAPSHOT#{id}`        |
| GC lease   | `TEAM#{team_id}` | `CHUNKGC`              |
| to sweep   | `SWEEP`          | `{team_id}`            |

S3, per team (chunks are shared by the team's snapshots, never across teams):

- `teams/{team}/chunks/{sha256}`: one chunk, an LZ4 frame, named by the digest of its content;
- `teams/{team}/snapshots/{id}/digests`: the chunks a snapshot uses, written before any upload, so
  a sweep never removes a chunk an unfinished snapshot counts on;
- `teams/{team}/snapshots/{id}/manifest`: the agent's manifest (files and the chunks they are in).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from dumont_core.aws_clients import aws_client
from dumont_core.data.instances import TableItem, shared_connection, write_refused

PRESIGNED_URL_SECONDS = 3600


class SnapshotItem(TableItem):
    snapshot_id = UnicodeAttribute()
    instance_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    team_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    compression = UnicodeAttribute()
    purpose = UnicodeAttribute()
    """`manual`, or `hibernate` for the snapshot a hibernation takes."""
    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    size_bytes = NumberAttribute(null=True)
    stored_bytes = NumberAttribute(null=True)
    uploaded_bytes = NumberAttribute(null=True)
    file_count = NumberAttribute(null=True)
    chunk_count = NumberAttribute(null=True)
    upload_seconds = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)


class SweepItem(TableItem):
    """A team with deleted snapshots whose chunks the scheduled sweep has yet to look at."""

    team_id = UnicodeAttribute()


class LeaseItem(TableItem):
    holder = UnicodeAttribute()
    expires_at = TTLAttribute()
    expires_epoch = NumberAttribute()


class StaleSnapshotState(Exception):
    pass


def _team_key(team_id: str) -> str:
    return f"TEAM#{team_id}"


def _snapshot_key(snapshot_id: str) -> str:
    return f"SNAPSHOT#{snapshot_id}"


class SnapshotRepository:
    def __init__(self, table_name: str) -> None:
        for model in (TableItem, SnapshotItem, LeaseItem, SweepItem):
            model.Meta.table_name = table_name

    def create(self, snapshot: SnapshotItem) -> None:
        snapshot.PK, snapshot.SK = _team_key(snapshot.team_id), _snapshot_key(snapshot.snapshot_id)
        snapshot.save(condition=SnapshotItem.PK.does_not_exist())

    def get(self, team_id: str, snapshot_id: str) -> SnapshotItem | None:
        try:
            return SnapshotItem.get(_team_key(team_id), _snapshot_key(snapshot_id), consistent_read=True)
        except DoesNotExist:
            return None

    def list_for_team(self, team_id: str) -> list[SnapshotItem]:
        items = SnapshotItem.query(_team_key(team_id), SnapshotItem.SK.startswith("SNAPSHOT#"))
        return sorted(items, key=lambda item: item.created_at, reverse=True)

    def move(self, snapshot: SnapshotItem, *, expected: Iterable[str], **changes: Any) -> None:
        """Apply `changes` if the snapshot is still in one of the `expected` states."""
        actions: list[Action] = []
        for name, value in changes.items():
            attribute = getattr(SnapshotItem, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
            setattr(snapshot, name, value)
        try:
            snapshot.update(actions=actions, condition=SnapshotItem.status.is_in(*expected))
        except UpdateError as error:
            if write_refused(error):
                raise StaleSnapshotState(snapshot.snapshot_id) from None
            raise

    def delete(self, snapshot: SnapshotItem) -> None:
        """Remove the record and mark its team for the chunk sweep, together."""
        marker = SweepItem("SWEEP", snapshot.team_id, team_id=snapshot.team_id)
        with TransactWrite(connection=shared_connection()) as transaction:
            transaction.delete(snapshot)
            transaction.save(marker)

    def teams_to_sweep(self) -> list[str]:
        return [item.team_id for item in SweepItem.query("SWEEP")]

    def swept(self, team_id: str) -> None:
        SweepItem("SWEEP", team_id).delete()

    # The sweep lease: chunk removal and snapshot completion never overlap within a team.

    def take_lease(self, team_id: str, holder: str, now: datetime, lifetime: timedelta) -> bool:
        expires = now + lifetime
        lease = LeaseItem(
            _team_key(team_id),
            "CHUNKGC",
            holder=holder,
            expires_at=expires,
            expires_epoch=int(expires.timestamp()),
        )
        try:
            lease.save(
                condition=LeaseItem.PK.does_not_exist() | (LeaseItem.expires_epoch < int(now.timestamp()))
            )
        except PutError as error:
            if write_refused(error):
                return False
            raise
        return True

    def lease_held(self, team_id: str, now: datetime) -> bool:
        try:
            lease = LeaseItem.get(_team_key(team_id), "CHUNKGC", consistent_read=True)
        except DoesNotExist:
            return False
        return int(lease.expires_epoch) >= int(now.timestamp())

    def release_lease(self, team_id: str, holder: str) -> None:
        try:
            LeaseItem(_team_key(team_id), "CHUNKGC").delete(condition=LeaseItem.holder == holder)
        except DeleteError as error:
            if not write_refused(error):
                raise


class SnapshotStore:
    """The S3 side: chunks, digest lists, manifests, and presigned URLs for the agents."""

    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    @staticmethod
    def chunk_key(team_id: str, digest: str) -> str:
        return f"teams/{team_id}/chunks/{digest}"

    @staticmethod
    def _snapshot_prefix(team_id: str, snapshot_id: str) -> str:
        return f"teams/{team_id}/snapshots/{snapshot_id}/"

    def stored_chunks(self, team_id: str) -> set[str]:
        """The digests of every chunk the team has in S3."""
        prefix = f"teams/{team_id}/chunks/"
        paginator = aws_client("s3").get_paginator("list_objects_v2")
        digests: set[str] = set()
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            digests.update(item["Key"].removeprefix(prefix) for item in page.get("Contents", []))
        return digests

    def put_digests(self, team_id: str, snapshot_id: str, digests: list[str]) -> None:
        aws_client("s3").put_object(
            Bucket=self._bucket,
            Key=self._snapshot_prefix(team_id, snapshot_id) + "digests",
            Body=json.dumps(digests).encode(),
            ContentType="application/json",
        )

    def digests(self, team_id: str, snapshot_id: str) -> list[str] | None:
        try:
            body = (
                aws_client("s3")
                .get_object(Bucket=self._bucket, Key=self._snapshot_prefix(team_id, snapshot_id) + "digests")[
                    "Body"
                ]
                .read()
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        digests: list[str] = json.loads(body)
        return digests

    def manifest_exists(self, team_id: str, snapshot_id: str) -> bool:
        try:
            aws_client("s3").head_object(
                Bucket=self._bucket, Key=self._snapshot_prefix(team_id, snapshot_id) + "manifest"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def upload_url(self, key: str) -> str:
        return str(
            aws_client("s3").generate_presigned_url(
                "put_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=PRESIGNED_URL_SECONDS
            )
        )

    def download_url(self, key: str) -> str:
        return str(
            aws_client("s3").generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=PRESIGNED_URL_SECONDS
            )
        )

    def manifest_key(self, team_id: str, snapshot_id: str) -> str:
        return self._snapshot_prefix(team_id, snapshot_id) + "manifest"

    def delete_snapshot_objects(self, team_id: str, snapshot_id: str) -> None:
        prefix = self._snapshot_prefix(team_id, snapshot_id)
        self._delete_keys([prefix + "digests", prefix + "manifest"])

    def delete_chunks(self, team_id: str, digests: Iterable[str]) -> None:
        self._delete_keys([self.chunk_key(team_id, digest) for digest in digests])

    def _delete_keys(self, keys: list[str]) -> None:
        s3 = aws_client("s3")
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            if batch:
                s3.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
                )
