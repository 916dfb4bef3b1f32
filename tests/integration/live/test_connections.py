"""Live connections in the table: each found by its id alone (API Gateway tells a closing connection's
handler nothing else) and expiring with API Gateway's longest connection; the connections watching an
instance kept on the instance, where its heartbeat reads them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from dumont_core.instances.models import EventType, InstanceEvent
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.watchers import MAX_WATCHERS_PER_INSTANCE, InstanceWatchers, TooManyWatchers
from dumont_core.live.models import LiveConnection
from dumont_core.live.repository import ConnectionRepository
from dumont_core.platform import table
from dumont_core.platform.errors import InstanceNotFound
from tests.fakes.clock import START
from tests.fakes.instances import an_instance
from tests.integration.conftest import EVENT_RETENTION, REGION, TABLE_NAME

TEAM, INSTANCE = "team_1", "inst_1"


def _connection(connection_id: str, instance_id: str = INSTANCE) -> LiveConnection:
    return LiveConnection(
        connection_id=connection_id,
        instance_id=instance_id,
        team_id=TEAM,
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


def _stored_instance() -> None:
    instance = an_instance(START, instance_id=INSTANCE, team_id=TEAM)
    InstanceRepository(event_retention=EVENT_RETENTION).create(
        instance, InstanceEvent.of(EventType.CREATED, instance)
    )


def _watchers() -> list[str]:
    found = InstanceRepository(event_retention=EVENT_RETENTION).get(TEAM, INSTANCE)
    assert found is not None
    return sorted(found.watchers)


def test_a_connection_is_found_by_its_id_and_forgotten_once(dynamodb_table: str) -> None:
    connections = ConnectionRepository(lifetime=timedelta(hours=2.5))
    assert connections.add(_connection("conn-a"))
    assert connections.add(_connection("conn-c", instance_id="inst_2"))
    assert not connections.add(_connection("conn-a")), "one connection id is kept once"

    assert connections.find("conn-c") == _connection("conn-c", instance_id="inst_2")
    assert connections.remove("conn-a")
    assert not connections.remove("conn-a")
    assert connections.find("conn-a") is None
    assert _items(table.connection_key("conn-a")) == []


def test_a_connection_whose_close_is_never_heard_expires(dynamodb_table: str) -> None:
    connections = ConnectionRepository(lifetime=timedelta(hours=2.5))
    connections.add(_connection("conn-a"))

    (item,) = _items(table.connection_key("conn-a"))
    assert int(item[table.TTL_ATTRIBUTE]["N"]) == int((START + timedelta(hours=2.5)).timestamp())


def test_the_instance_read_by_a_heartbeat_holds_its_watchers_added_and_removed_once(
    dynamodb_table: str,
) -> None:
    _stored_instance()
    watchers = InstanceWatchers()
    assert _watchers() == []

    watchers.watch(TEAM, INSTANCE, "conn-a")
    watchers.watch(TEAM, INSTANCE, "conn-b")
    watchers.watch(TEAM, INSTANCE, "conn-a")
    assert _watchers() == ["conn-a", "conn-b"]

    watchers.unwatch(TEAM, INSTANCE, "conn-a")
    watchers.unwatch(TEAM, INSTANCE, "conn-a")
    assert _watchers() == ["conn-b"]
    watchers.unwatch(TEAM, INSTANCE, "conn-b")
    assert _watchers() == []


def test_an_instance_that_is_not_there_cannot_be_watched(dynamodb_table: str) -> None:
    with pytest.raises(InstanceNotFound):
        InstanceWatchers().watch(TEAM, "inst_gone", "conn-a")

    InstanceWatchers().unwatch(TEAM, "inst_gone", "conn-a")  # nothing to forget: not an error
    assert _items(table.team_key(TEAM)) == [], "no item is made by either"


def test_past_the_bound_a_new_watcher_is_refused_and_one_that_left_makes_room(dynamodb_table: str) -> None:
    _stored_instance()
    watchers = InstanceWatchers()
    for number in range(MAX_WATCHERS_PER_INSTANCE):
        watchers.watch(TEAM, INSTANCE, f"conn-{number}")

    with pytest.raises(TooManyWatchers) as refused:
        watchers.watch(TEAM, INSTANCE, "conn-extra")

    assert refused.value.details == {"limit": MAX_WATCHERS_PER_INSTANCE}
    assert f"({MAX_WATCHERS_PER_INSTANCE})" in refused.value.message
    assert len(_watchers()) == MAX_WATCHERS_PER_INSTANCE
    watchers.unwatch(TEAM, INSTANCE, "conn-0")
    watchers.watch(TEAM, INSTANCE, "conn-extra")
    assert "conn-extra" in _watchers()
