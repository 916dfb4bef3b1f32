"""The single DynamoDB table: its keys and indexes, shared by the CDK app and the local stack.

Item layout (access patterns first):

| item           | PK                       | SK                        | GSI1PK / GSI1SK              |
|----------------|--------------------------|---------------------------|------------------------------|
| instance       | `TEAM#{team_id}`         | `INSTANCE#{instance_id}`  | `INSTANCE#{id}` / `INSTANCE` |
| instance event | `INSTANCE#{instance_id}` | `EVENT#{timestamp}#{seq}` |                              |

- list a team's instances: Query PK=`TEAM#…`, SK begins_with `INSTANCE#`
- one instance of a team: GetItem; its timeline: Query PK=`INSTANCE#…`
- an instance by id alone (workflows, agents): Query GSI1 on `INSTANCE#{id}`
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "PK"
SORT_KEY = "SK"
GSI1_NAME = "GSI1"
GSI1_PARTITION_KEY = "GSI1PK"
GSI1_SORT_KEY = "GSI1SK"
TTL_ATTRIBUTE = "expires_at"

KEY_ATTRIBUTES: tuple[str, ...] = (PARTITION_KEY, SORT_KEY, GSI1_PARTITION_KEY, GSI1_SORT_KEY)


def create_table_request(table_name: str) -> dict[str, Any]:
    """Arguments for DynamoDB `CreateTable` (on-demand), as the local stack and tests create it."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in KEY_ATTRIBUTES],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": GSI1_NAME,
                "KeySchema": [
                    {"AttributeName": GSI1_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": GSI1_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }
