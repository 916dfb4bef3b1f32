"""The S3 bucket that keeps workspace snapshots, its access logs, and the grants to read and write it.

Layout (see `dumont_core.snapshots.store`): everything lives under `teams/{team}/`, chunks in
`chunks/{sha256}` shared by the team's snapshots, and per snapshot a digest list and a manifest in
`snapshots/{id}/`. Agents on rented machines never hold AWS credentials: they upload and download
with URLs the API function presigns, which act with the API function's own permissions.
"""

from __future__ import annotations

from aws_cdk import CfnElement, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.components.nag import acknowledge, arn_finding

SNAPSHOT_BUCKET_ENV = "SNAPSHOT_BUCKET"
SNAPSHOT_OBJECTS = "teams/*"
"""Every object the application writes is under a team's prefix."""
ACCESS_LOG_PREFIX = "snapshots/"
ACCESS_LOG_RETENTION = Duration.days(90)
"""As long as the API's access logs: the use of a presigned URL can be matched with the request that
issued it."""
INCOMPLETE_UPLOAD_LIFETIME = Duration.days(1)

# S3 delivers server access logs under a bucket policy instead of the LogDeliveryWrite ACL, so that
# the log bucket keeps ACLs disabled like every other bucket.
_ACCESS_LOGS_USE_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"


def bucket_resource(bucket: s3.IBucket) -> CfnElement:
    resource = bucket.node.default_child
    if not isinstance(resource, CfnElement):
        raise TypeError("expected a bucket defined in this app")
    return resource


class SnapshotStorage(Construct):
    """Private, SSE-S3 encrypted, TLS-only bucket of workspace snapshots, kept when the stack goes.

    Its server access logs go to a bucket of their own: who read or wrote which workspace, including
    through presigned URLs, which CloudTrail records only as data events (off by default).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Context is read by the buckets below, so it must be set before they exist.
        self.node.set_context(_ACCESS_LOGS_USE_BUCKET_POLICY, True)
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=ACCESS_LOG_RETENTION,
                    abort_incomplete_multipart_upload_after=INCOMPLETE_UPLOAD_LIFETIME,
                )
            ],
            # Kept with the snapshot bucket, which goes on logging here if the stack is deleted.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            bucket_resource(self.access_logs),
            "AwsSolutions-S1",
            "This is the bucket that receives the snapshot bucket's server access logs; logging its "
            "own access would write a log object for every log object S3 delivers.",
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=ACCESS_LOG_PREFIX,
            # Chunks are put whole through presigned URLs; should a multipart upload ever be left
            # unfinished, its parts would be billed forever without this rule.
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AbortIncompleteMultipartUploads",
                    abort_incomplete_multipart_upload_after=INCOMPLETE_UPLOAD_LIFETIME,
                )
            ],
            # It holds our users' workspaces, and a hibernated instance exists only as its snapshot.
            removal_policy=RemovalPolicy.RETAIN,
        )

    def grant_read(self, role: iam.IRole) -> None:
        """Read digest lists and manifests (HeadObject needs GetObject) and list a team's chunks."""
        self._grant(role, ["s3:GetObject"])

    def grant_read_write(self, role: iam.IRole) -> None:
        """Everything the API does: read, write and delete snapshot objects, presign the agents' uploads
        (PUT) and downloads (GET), and list chunks to skip the ones already stored."""
        self._grant(role, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])

    def _grant(self, role: iam.IRole, object_actions: list[str]) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=object_actions,
                resources=[self.bucket.arn_for_objects(SNAPSHOT_OBJECTS)],
            )
        )
        # Listing finds the chunks a team already has. It also makes S3 answer 404 rather than 403 for
        # a digest list or manifest that is not there, which is how the code tells "not uploaded" from
        # a real failure.
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn])
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "Snapshot chunks and manifests are named by content digest and snapshot id at run time; "
            f"the wildcard is limited to the application's `{SNAPSHOT_OBJECTS}` prefix of the snapshot "
            "bucket, with only the object actions this function uses.",
            arn_finding(bucket_resource(self.bucket), "/" + SNAPSHOT_OBJECTS),
        )
