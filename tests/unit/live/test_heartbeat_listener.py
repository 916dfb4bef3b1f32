"""Each recorded heartbeat is told to its listener (live metrics), and nothing the listener does fails the
heartbeat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dumont_core.agents.service import AgentService
from dumont_core.platform.identity import Principal

AGENT = Principal(account_id="acct_1", team_id="team_1", instance_id="inst_1")
READING = {"gpu_utilization": 50.0}


class Recorded:
    def __init__(self) -> None:
        self.readings: list[tuple[str, str, Mapping[str, Any]]] = []

    def find(self, team_id: str, instance_id: str) -> None:
        return None  # the instance is not read here: the interval for an unknown one is the regular one

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
        self.heard_of: list[tuple[str, str, Mapping[str, Any]]] = []

    def heard(self, team_id: str, instance_id: str, reading: Mapping[str, Any]) -> None:
        if self.fails:
            raise RuntimeError("the live metrics service could not be made")
        self.heard_of.append((team_id, instance_id, reading))


def _agents(listener: Listener) -> AgentService:
    service: Any = AgentService(
        instances=Recorded(),  # type: ignore[arg-type]
        actions=NoActions(),  # type: ignore[arg-type]
        logs=None,  # type: ignore[arg-type]
        heartbeat_seconds=60,
        listener=listener,
    )
    return service


def test_a_recorded_heartbeat_is_told_to_the_listener() -> None:
    listener = Listener()

    _agents(listener).heartbeat(AGENT, READING)

    assert listener.heard_of == [("team_1", "inst_1", READING)]


def test_a_failing_listener_never_fails_the_heartbeat() -> None:
    answer = _agents(Listener(fails=True)).heartbeat(AGENT, READING)

    assert answer.next_heartbeat_in_seconds == 60
