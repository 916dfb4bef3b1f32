"""The embedded AWS of the local stack keeps its memory flat under heartbeats, and still rolls back a
cancelled transaction (local_stack.moto_memory).

A heartbeat is one transaction of three items whose table grows by a sample each time. moto kept every
item it ever made and copied whole tables for each transaction, so `make run` grew by megabytes per
heartbeat until the kernel killed it.
"""

from __future__ import annotations

import gc
import threading
import tracemalloc
from datetime import timedelta

import boto3
import pytest
from moto.dynamodb.models import dynamodb_backends

from dumont_core.instances.metrics import HeartbeatRefused, MetricsRepository
from dumont_core.platform import table
from local_stack.embedded_aws import ACCOUNT_ID
from local_stack.moto_memory import delete_expired, keep_memory_flat
from tests.fakes.clock import Clock
from tests.integration.conftest import REGION

MACHINES = 20
READING = {"gpu_utilization": 12.5, "gpu_memory_used_gb": 3.1, "cpu_utilization": 40.0, "ram_used_gb": 10.2}
SAMPLE_RETENTION = timedelta(days=35)
"""What the `readings` fixture keeps samples for."""
KEPT_PER_HEARTBEAT = 6 * 1024
"""What a heartbeat may add for good: its sample (about 2.5 KB in moto), and some slack."""


@pytest.fixture
def machines(dynamodb_table: str) -> list[str]:
    keep_memory_flat()
    client = boto3.client("dynamodb")
    instance_ids = [f"inst_{number:016x}" for number in range(MACHINES)]
    for instance_id in instance_ids:
        client.put_item(
            TableName=dynamodb_table,
            Item={
                "PK": {"S": table.team_key("team_1")},
                "SK": {"S": table.instance_key(instance_id)},
                "status": {"S": "running"},
            },
        )
    return instance_ids


def heartbeats(readings: MetricsRepository, machines: list[str], clock: Clock, rounds: int) -> None:
    for _ in range(rounds):
        clock.advance(seconds=5)
        for instance_id in machines:
            readings.record_heartbeat("team_1", instance_id, READING, clock())


def test_a_heartbeat_keeps_little_more_than_its_sample_however_big_the_table(
    readings: MetricsRepository, machines: list[str], clock: Clock
) -> None:
    heartbeats(readings, machines, clock, rounds=5)  # warm-up: connections, validators, caches
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        heartbeats(readings, machines, clock, rounds=5)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    per_heartbeat = kept / (5 * MACHINES)
    assert per_heartbeat < KEPT_PER_HEARTBEAT, f"each heartbeat kept {per_heartbeat / 1024:,.1f} KiB"


def test_a_refused_heartbeat_leaves_the_samples_and_the_rollup_as_they_were(
    readings: MetricsRepository, machines: list[str], clock: Clock, dynamodb_table: str
) -> None:
    instance_id = machines[0]
    heartbeats(readings, [instance_id], clock, rounds=2)
    boto3.client("dynamodb").update_item(
        TableName=dynamodb_table,
        Key={"PK": {"S": table.team_key("team_1")}, "SK": {"S": table.instance_key(instance_id)}},
        UpdateExpression="SET #status = :stopped",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":stopped": {"S": "stopped"}},
    )
    since, until = clock() - timedelta(hours=1), clock() + timedelta(hours=1)
    samples, hourly = readings.samples(instance_id, since, until), readings.hourly(instance_id, since, until)

    clock.advance(seconds=5)
    with pytest.raises(HeartbeatRefused):
        readings.record_heartbeat("team_1", instance_id, {"gpu_utilization": 99.0}, clock())

    # The sample the transaction wrote is gone again, and the hour's rollup counts what it counted.
    assert readings.samples(instance_id, since, until) == samples
    assert readings.hourly(instance_id, since, until) == hourly
    assert [point.samples for point in hourly] == [2]


def test_a_transaction_naming_an_item_by_half_its_key_is_refused_and_writes_nothing(
    machines: list[str], dynamodb_table: str
) -> None:
    client = boto3.client("dynamodb")
    new_item = {"PK": {"S": table.team_key("team_1")}, "SK": {"S": "NEW"}}
    with pytest.raises(client.exceptions.ClientError, match="ValidationException"):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": dynamodb_table, "Item": new_item}},
                {
                    "Update": {
                        "TableName": dynamodb_table,
                        "Key": {"PK": {"S": table.team_key("team_1")}},
                        "UpdateExpression": "SET gpu = :gpu",
                        "ExpressionAttributeValues": {":gpu": {"S": "RTX_4090"}},
                    }
                },
            ]
        )
    assert "Item" not in client.get_item(TableName=dynamodb_table, Key=new_item)


def test_items_whose_ttl_has_passed_are_deleted_as_dynamodb_would_and_no_others(
    readings: MetricsRepository, machines: list[str], clock: Clock, dynamodb_table: str
) -> None:
    first_sample_expires = (clock() + timedelta(seconds=5) + SAMPLE_RETENTION).timestamp()
    heartbeats(readings, machines[:2], clock, rounds=3)
    last_sample_expires = (clock() + SAMPLE_RETENTION).timestamp()
    client = boto3.client("dynamodb")
    moto_table = dynamodb_backends[ACCOUNT_ID][REGION].get_table(dynamodb_table)

    def stored(kind: str) -> list[str]:
        items = client.scan(TableName=dynamodb_table)["Items"]
        return sorted(
            f"{item['PK']['S']}|{item['SK']['S']}" for item in items if item["SK"]["S"].startswith(kind)
        )

    instances, samples = stored("INSTANCE#"), stored("METRIC#")
    assert len(samples) == 6

    assert delete_expired(moto_table, table.TTL_ATTRIBUTE, first_sample_expires - 1, threading.Lock()) == 0
    assert delete_expired(moto_table, table.TTL_ATTRIBUTE, first_sample_expires, threading.Lock()) == 2
    assert len(stored("METRIC#")) == 4, "the first round's samples went, at their time"

    delete_expired(moto_table, table.TTL_ATTRIBUTE, last_sample_expires, threading.Lock())

    assert stored("METRIC#") == []
    assert stored("INSTANCE#") == instances, "items without a TTL stay"
