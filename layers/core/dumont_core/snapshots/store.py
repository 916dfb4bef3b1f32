"""Workspace snapshots in S3, per team (chunks are shared by the team's snapshots, never across teams):

- `teams/{team}/chunks/{sha256}`: one chunk, an LZ4 frame, named by the digest of its content;
- `teams/{team}/snapshots/{id}/digests`: the chunks a snapshot uses, written before any upload, so
  a sweep never removes a chunk an unfinished snapshot counts on;
- `teams/{team}/snapshots/{id}/manifest`: the agent's manifest (files and the chunks they are in).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from botocore.exceptions import ClientError

from dumont_core.platform.aws import aws_client

PRESIGNED_URL_SECONDS = 3600


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
