"""Each recorded heartbeat of a watched instance is told to its listener (live metrics), a heartbeat
nobody watches is not, and nothing the listener does fails the heartbeat."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from dumont_core.agents.service import AgentService
from dumont_core.instances.models import Instance
from dumont_core.platform.identity import Principal
from tests.fakes.clock import START
from tests.fakes.instances import an_instance

AGENT = Principal(account_id="acct_1", team_id="team_1", instance_id="inst_1")
READING = {"gpu_utilization": 50.0}


def _instance(watchers: list[str]) -> Instance:
    return an_instance(START - timedelta(hours=1), watchers=watchers)


class Recorded:
    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.readings: list[tuple[str, str, Mapping[str, Any]]] = []

    def find(self, team_id: str, instance_id: str) -> Instance:
        return self.instance

    def record_heartbeat(
        self, team_id: str, instance_id: str, reading: Mapping[str, Any], interval: float
    ) -> None:
        self.readings.append((team_id, instance_id, reading))


class NoActions:
    def pending(self, instance_id: str, *, to_standby: bool) -> list[Any]:
        return []


class Listener:
    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.heard_of: list[tuple[list[str], Mapping[str, Any]]] = []

    def heard(self, instance: Instance, reading: Mapping[str, Any]) -> None:
        if self.fails:
            raise RuntimeError("the live metrics service could not be made")
        self.heard_of.append((instance.watchers, reading))


def _agents(listener: Listener, watchers: list[str]) -> tuple[AgentService, Recorded]:
    recorded = Recorded(_instance(watchers))
    service: Any = AgentService(
        instances=recorded,  # type: ignore[arg-type]
        actions=NoActions(),  # type: ignore[arg-type]
        logs=None,  # type: ignore[arg-type]
        heartbeat_seconds=60,
        listener=listener,
    )
    return service, recorded


def test_a_recorded_heartbeat_of_a_watched_instance_is_told_to_the_listener() -> None:
    listener = Listener()
    agents, recorded = _agents(listener, ["conn-1"])

    agents.heartbeat(AGENT, READING)

    assert recorded.readings == [("team_1", "inst_1", READING)]
    assert listener.heard_of == [(["conn-1"], READING)]


def test_a_heartbeat_nobody_watches_is_recorded_and_not_told() -> None:
    listener = Listener()
    agents, recorded = _agents(listener, [])

    agents.heartbeat(AGENT, READING)

    assert recorded.readings == [("team_1", "inst_1", READING)]
    assert listener.heard_of == []


def test_a_failing_listener_never_fails_the_heartbeat() -> None:
    agents, recorded = _agents(Listener(fails=True), ["conn-1"])

    answer = agents.heartbeat(AGENT, READING)

    assert answer.next_heartbeat_in_seconds == 60
    assert recorded.readings == [("team_1", "inst_1", READING)]
