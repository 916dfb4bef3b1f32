"""Where data is kept: the table, the snapshot buckets, the secrets, and the queue of domain events."""

from __future__ import annotations

from typing import Any

from dumont_core.platform import table
from infra.components.snapshots import ACCESS_LOG_PREFIX
from infra.topology import (
    DOMAIN_EVENT_SOURCE_PREFIX,
    DOMAIN_EVENTS_QUEUE_NAME,
    EVENT_BUS_NAME,
    WEBHOOK_DELIVERIES_QUEUE_NAME,
)
from tests.integration.infra.template import Synthesized, as_text

# --- table ---------------------------------------------------------------------------------------


def test_table_is_on_demand_with_pitr_ttl_encryption_keys_and_gsi(synthesized: Synthesized) -> None:
    _, resource = synthesized.only("AWS::DynamoDB::Table")
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    props = resource["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": table.TTL_ATTRIBUTE, "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    assert props["KeySchema"] == [
        {"AttributeName": table.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": table.SORT_KEY, "KeyType": "RANGE"},
    ]
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        ({"AttributeName": name, "AttributeType": "S"} for name in table.KEY_ATTRIBUTES),
        key=lambda a: a["AttributeName"],
    )
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": table.GSI1_NAME,
            "KeySchema": [
                {"AttributeName": table.GSI1_PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": table.GSI1_SORT_KEY, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]


# --- snapshot storage ----------------------------------------------------------------------------


def _access_log_bucket_id(synthesized: Synthesized) -> str:
    snapshots = synthesized.of_type("AWS::S3::Bucket")[synthesized.snapshot_bucket_id()]
    destination: dict[str, str] = snapshots["Properties"]["LoggingConfiguration"]["DestinationBucketName"]
    return destination["Ref"]


def _bucket_policy_statements(synthesized: Synthesized, bucket_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        policy
        for policy in synthesized.of_type("AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _denies_plain_http(statements: list[dict[str, Any]], bucket_id: str) -> bool:
    return any(
        statement["Effect"] == "Deny"
        and statement["Action"] == "s3:*"
        and statement["Principal"] == {"AWS": "*"}
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and sorted(as_text(r) for r in statement["Resource"])
        == [f"<GetAtt {bucket_id}.Arn>", f"<GetAtt {bucket_id}.Arn>/*"]
        for statement in statements
    )


_ENCRYPTED_WITH_S3_KEYS = {
    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
}
_ALL_PUBLIC_ACCESS_BLOCKED = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def test_snapshot_bucket_is_private_encrypted_tls_only_and_kept(synthesized: Synthesized) -> None:
    buckets = synthesized.of_type("AWS::S3::Bucket")
    assert len(buckets) == 2, "snapshots and their access logs"
    bucket_id = synthesized.snapshot_bucket_id()
    bucket = buckets[bucket_id]
    # It holds users' workspaces: deleting the stack or replacing the bucket must not delete them.
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    props = bucket["Properties"]
    assert props["BucketEncryption"] == _ENCRYPTED_WITH_S3_KEYS
    assert props["PublicAccessBlockConfiguration"] == _ALL_PUBLIC_ACCESS_BLOCKED
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "CorsConfiguration" not in props, "agents use presigned URLs from servers, not browsers"
    assert "BucketName" not in props, "bucket names are global: let CloudFormation choose"
    assert props["LifecycleConfiguration"] == {
        "Rules": [
            {
                "Id": "AbortIncompleteMultipartUploads",
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                "Status": "Enabled",
            }
        ]
    }
    statements = _bucket_policy_statements(synthesized, bucket_id)
    assert _denies_plain_http(statements, bucket_id)
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"NumericLessThan": {"s3:TlsVersion": 1.2}}
        for s in statements
    )
    # Nothing but denials: access comes from the functions' roles only.
    assert {s["Effect"] for s in statements} == {"Deny"}


def test_snapshot_bucket_access_is_logged_to_a_private_bucket(synthesized: Synthesized) -> None:
    bucket_id = synthesized.snapshot_bucket_id()
    logs_id = _access_log_bucket_id(synthesized)
    snapshots = synthesized.of_type("AWS::S3::Bucket")[bucket_id]
    assert snapshots["Properties"]["LoggingConfiguration"]["LogFilePrefix"] == ACCESS_LOG_PREFIX
    access_logs = synthesized.resources[logs_id]
    assert access_logs["DeletionPolicy"] == "Retain"
    props = access_logs["Properties"]
    assert props["BucketEncryption"] == _ENCRYPTED_WITH_S3_KEYS
    assert props["PublicAccessBlockConfiguration"] == _ALL_PUBLIC_ACCESS_BLOCKED
    # Delivered under a bucket policy, so the log bucket keeps ACLs disabled.
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "AccessControl" not in props
    (expire,) = [rule for rule in props["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in rule]
    assert expire["ExpirationInDays"] == 90
    statements = _bucket_policy_statements(synthesized, logs_id)
    assert _denies_plain_http(statements, logs_id)
    (delivery,) = [s for s in statements if s["Effect"] == "Allow"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert as_text(delivery["Resource"]) == f"<GetAtt {logs_id}.Arn>/{ACCESS_LOG_PREFIX}*"
    assert delivery["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::GetAtt": [bucket_id, "Arn"]}}


def test_secrets_have_no_value_in_the_template(synthesized: Synthesized) -> None:
    secrets = synthesized.of_type("AWS::SecretsManager::Secret")
    assert len(secrets) == 3, "provider key, token signing and Stripe's keys"
    for secret in secrets.values():
        assert "SecretString" not in secret["Properties"]
        assert "GenerateSecretString" in secret["Properties"]
    assert secrets[synthesized.secret_id("VastApiKey")]["DeletionPolicy"] == "Retain"


# --- events --------------------------------------------------------------------------------------


def test_bus_rule_queue_and_dead_letter_queue(synthesized: Synthesized) -> None:
    bus_id, bus = synthesized.only("AWS::Events::EventBus")
    assert bus["Properties"]["Name"] == EVENT_BUS_NAME == "dumont"

    queues = synthesized.of_type("AWS::SQS::Queue")
    by_name = {queue["Properties"]["QueueName"]: key for key, queue in queues.items()}
    assert set(by_name) == {
        name
        for queue in (DOMAIN_EVENTS_QUEUE_NAME, WEBHOOK_DELIVERIES_QUEUE_NAME)
        for name in (queue, f"{queue}-dlq")
    }
    queue_id, dlq_id = by_name[DOMAIN_EVENTS_QUEUE_NAME], by_name[f"{DOMAIN_EVENTS_QUEUE_NAME}-dlq"]
    assert queues[queue_id]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": [dlq_id, "Arn"]
    }
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    enforced = set()
    for policy in synthesized.of_type("AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                enforced.update(queue["Ref"] for queue in policy["Properties"]["Queues"])
    assert enforced == set(queues)

    (rule,) = [
        rule
        for rule in synthesized.of_type("AWS::Events::Rule").values()
        if "EventBusName" in rule["Properties"]
    ]
    props = rule["Properties"]
    assert props["EventBusName"] == {"Ref": bus_id}
    assert props["EventPattern"] == {"source": [{"prefix": DOMAIN_EVENT_SOURCE_PREFIX}]}
    (target,) = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}
