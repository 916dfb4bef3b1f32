"""The single DynamoDB table, built from the same description the local stack creates it from."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from dumont_core.platform.table import TTL_ATTRIBUTE, create_table_request

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


class DataStore(Construct):
    """On-demand table with point-in-time recovery, TTL and KMS encryption, kept when the stack goes."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # `create_table_request` is what the local stack and the tests create; deploying from the same
        # dictionary keeps keys, attribute types and indexes identical in both places.
        request = create_table_request("unused")
        if request["BillingMode"] != "PAY_PER_REQUEST":
            raise ValueError("the table is meant to be on-demand")
        types = {
            a["AttributeName"]: _ATTRIBUTE_TYPES[a["AttributeType"]] for a in request["AttributeDefinitions"]
        }

        def keys(schema: list[dict[str, str]]) -> tuple[dynamodb.Attribute, dynamodb.Attribute | None]:
            by_role = {k["KeyType"]: k["AttributeName"] for k in schema}
            partition = dynamodb.Attribute(name=by_role["HASH"], type=types[by_role["HASH"]])
            sort = by_role.get("RANGE")
            return partition, (dynamodb.Attribute(name=sort, type=types[sort]) if sort else None)

        partition_key, sort_key = keys(request["KeySchema"])
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=partition_key,
            sort_key=sort_key,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=TTL_ATTRIBUTE,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in request.get("GlobalSecondaryIndexes", []):
            index_partition_key, index_sort_key = keys(index["KeySchema"])
            projection = index["Projection"]
            self.table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=index_partition_key,
                sort_key=index_sort_key,
                projection_type=_PROJECTIONS[projection["ProjectionType"]],
                non_key_attributes=projection.get("NonKeyAttributes"),
            )
