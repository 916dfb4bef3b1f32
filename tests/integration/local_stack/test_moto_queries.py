"""The embedded AWS answers a Query on the table's keys from its partition alone, and answers exactly what
DynamoDB would: the partition's items in key order, either way round, a page at a time, conditions and
filters applied (local_stack.moto_queries)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto.dynamodb.models import DynamoType, dynamodb_backends

from dumont_core.platform import table
from local_stack.embedded_aws import ACCOUNT_ID
from local_stack.moto_queries import read_one_partition_per_query
from tests.integration.conftest import REGION

PARTITIONS = 30
PER_PARTITION = 40


@pytest.fixture
def filled(dynamodb_table: str) -> str:
    read_one_partition_per_query()
    client = boto3.client("dynamodb")
    for partition in range(PARTITIONS):
        for number in range(PER_PARTITION):
            client.put_item(
                TableName=dynamodb_table,
                Item={
                    "PK": {"S": f"PART#{partition:02d}"},
                    "SK": {"S": f"ITEM#{number:03d}"},
                    "number": {"N": str(number)},
                    "even": {"BOOL": number % 2 == 0},
                },
            )
    return dynamodb_table


def numbers(table_name: str, pages: bool = False, **query: Any) -> list[int]:
    client = boto3.client("dynamodb")
    found: list[int] = []
    start: dict[str, Any] = {}
    while True:
        answer = client.query(TableName=table_name, **query, **start)
        found += [int(item["number"]["N"]) for item in answer["Items"]]
        if not pages or "LastEvaluatedKey" not in answer:
            return found
        start = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}


def in_partition(partition: int, condition: str = "", **values: dict[str, str]) -> dict[str, Any]:
    return {
        "KeyConditionExpression": "PK = :pk" + (f" AND {condition}" if condition else ""),
        "ExpressionAttributeValues": {":pk": {"S": f"PART#{partition:02d}"}, **values},
    }


def test_a_query_answers_its_partition_in_key_order_and_nothing_of_the_others(filled: str) -> None:
    assert numbers(filled, **in_partition(7)) == list(range(PER_PARTITION))
    assert numbers(filled, ScanIndexForward=False, **in_partition(7)) == list(reversed(range(PER_PARTITION)))


def test_a_query_pages_through_its_partition_and_applies_key_conditions_and_filters(filled: str) -> None:
    assert numbers(filled, pages=True, Limit=7, **in_partition(3)) == list(range(PER_PARTITION))
    between = in_partition(
        3, "SK BETWEEN :low AND :high", **{":low": {"S": "ITEM#010"}, ":high": {"S": "ITEM#014"}}
    )
    assert numbers(filled, **between) == [10, 11, 12, 13, 14]
    starting = in_partition(3, "begins_with(SK, :prefix)", **{":prefix": {"S": "ITEM#02"}})
    assert numbers(filled, **starting) == list(range(20, 30))
    even = in_partition(3, **{":yes": {"BOOL": True}})
    assert numbers(filled, pages=True, Limit=5, FilterExpression="even = :yes", **even) == list(
        range(0, PER_PARTITION, 2)
    )


def test_asking_for_a_partition_that_does_not_exist_answers_nothing_and_makes_none(filled: str) -> None:
    table = dynamodb_backends[ACCOUNT_ID][REGION].tables[filled]
    held = len(table.items)

    assert numbers(filled, **in_partition(PARTITIONS + 5)) == []
    assert len(table.items) == held


def test_a_query_sorts_its_partition_not_the_table(filled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    compared = 0
    less_than = DynamoType.__lt__

    def counted(self: DynamoType, other: DynamoType) -> bool:
        nonlocal compared
        compared += 1
        return less_than(self, other)

    monkeypatch.setattr(DynamoType, "__lt__", counted)
    assert numbers(filled, **in_partition(11)) == list(range(PER_PARTITION))
    # Sorting the whole table (1,200 items) takes some 10,000 comparisons; its partition, a few hundred.
    assert compared < PER_PARTITION * 10


def test_a_query_on_the_index_finds_its_items_across_partitions_in_the_indexs_key_order(filled: str) -> None:
    client = boto3.client("dynamodb")
    for partition in (25, 4, 17):  # written out of order, in three partitions
        for number in (2, 0, 1):
            client.update_item(
                TableName=filled,
                Key={"PK": {"S": f"PART#{partition:02d}"}, "SK": {"S": f"ITEM#{number:03d}"}},
                UpdateExpression="SET GSI1PK = :index, GSI1SK = :order",
                ExpressionAttributeValues={
                    ":index": {"S": "INDEXED"},
                    ":order": {"S": f"{partition:02d}#{number}"},
                },
            )

    answer = client.query(
        TableName=filled,
        IndexName=table.GSI1_NAME,
        KeyConditionExpression="GSI1PK = :index",
        ExpressionAttributeValues={":index": {"S": "INDEXED"}},
    )

    assert [item["GSI1SK"]["S"] for item in answer["Items"]] == [
        f"{partition:02d}#{number}" for partition in (4, 17, 25) for number in (0, 1, 2)
    ]
