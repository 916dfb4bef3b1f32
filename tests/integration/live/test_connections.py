"""Live connections in the table: found by their instance with one Query, forgotten by their id alone,
and expiring with API Gateway's longest connection."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3

from dumont_core.live.models import LiveConnection
from dumont_core.live.repository import ConnectionRepository
from dumont_core.platform import table
from tests.fakes.clock import START
from tests.integration.conftest import REGION, TABLE_NAME


def _connection(connection_id: str, instance_id: str = "inst_1") -> LiveConnection:
    return LiveConnection(
        connection_id=connection_id,
        instance_id=instance_id,
        team_id="team_1",
        account_id="acct_1",
        connected_at=START,
    )


def _items(partition: str) -> list[dict[str, Any]]:
    client = boto3.session.Session(region_name=REGION).client("dynamodb")
    answer = client.query(
        TableName=TABLE_NAME,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": partition}},
    )
    return list(answer["Items"])


def test_connections_are_found_by_their_instance_and_forgotten_by_their_id(dynamodb_table: str) -> None:
    connections = ConnectionRepository(lifetime=timedelta(hours=2.5))
    assert connections.add(_connection("conn-a"))
    assert connections.add(_connection("conn-b"))
    assert connections.add(_connection("conn-c", instance_id="inst_2"))
    assert not connections.add(_connection("conn-a")), "one connection id is kept once"

    assert sorted(each.connection_id for each in connections.watching("inst_1")) == ["conn-a", "conn-b"]
    assert connections.instance_of("conn-c") == "inst_2"

    assert connections.remove("inst_1", "conn-a")
    assert not connections.remove("inst_1", "conn-a")
    assert [each.connection_id for each in connections.watching("inst_1")] == ["conn-b"]
    assert connections.instance_of("conn-a") is None
    assert _items(table.connection_key("conn-a")) == []


def test_a_connection_whose_close_is_never_heard_expires(dynamodb_table: str) -> None:
    connections = ConnectionRepository(lifetime=timedelta(hours=2.5))
    connections.add(_connection("conn-a"))

    expected = int((START + timedelta(hours=2.5)).timestamp())
    for partition in (table.live_key("inst_1"), table.connection_key("conn-a")):
        (item,) = _items(partition)
        assert int(item[table.TTL_ATTRIBUTE]["N"]) == expected
