"""Every instance status against every action a user can ask for, through the API function as API Gateway
invokes it: allowed, the instance moves at once to the action's interim state and its workflow starts;
refused, 409 INVALID_STATE names the current state and the states the action is allowed from, and nothing
is written or started. What is allowed from where is written out here, apart from the rules' tables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from dumont_core import composition
from dumont_core.instances.models import EventType, Instance, InstanceEvent, InstanceStatus
from dumont_core.instances.repository import InstanceRepository
from dumont_core.platform.identity import Principal
from tests.fakes.api_gateway import answer_body, rest_event
from tests.integration.conftest import EVENT_RETENTION, ApiFunction

TEAM = "team_00000000000000aa"
OWNER = Principal(
    account_id="acct_00000000000000aa",
    team_id=TEAM,
    role="admin",
    plan="pro",
    permissions=frozenset({"instances.view", "instances.operate", "instances.delete"}),
)
INSTANCE_ID = "inst_00000000000000aa"
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

STATES = {
    "starting",
    "running",
    "stopping",
    "stopped",
    "rebooting",
    "deleting",
    "deleted",
    "failed",
    "hibernating",
    "hibernated",
    "waking",
    "interrupted",
}
ALLOWED_FROM: dict[str, set[str]] = {
    "start": {"stopped"},
    "stop": {"running"},
    "reboot": {"running"},
    "hibernate": {"running"},
    "wake": {"hibernated", "interrupted"},
    "delete": STATES - {"deleting", "deleted"},
}
MOVES_TO = {
    "start": "starting",
    "stop": "stopping",
    "reboot": "rebooting",
    "hibernate": "hibernating",
    "wake": "waking",
    "delete": "deleting",
}
ROUTES = {
    "start": ("POST", "/api/v1/instances/{instance_id}/start"),
    "stop": ("POST", "/api/v1/instances/{instance_id}/stop"),
    "reboot": ("POST", "/api/v1/instances/{instance_id}/reboot"),
    "hibernate": ("POST", "/api/instances/{instance_id}/hibernate"),
    "wake": ("POST", "/api/instances/{instance_id}/wake"),
    "delete": ("DELETE", "/api/v1/instances/{instance_id}"),
}


class PaysForEverything:
    """A meter that never refuses (these tests are about states, not balances); it notes what it is asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []

    def ensure_covers(self, *asked: Any) -> None:
        self.asked.append(asked)


METER = PaysForEverything()
WORKFLOWS = {
    "start": "start",
    "stop": "stop",
    "reboot": "reboot",
    "hibernate": "snapshot",
    "wake": "wake",
    "delete": "destroy",
}
RENTS_A_MACHINE = {"start", "wake"}
"""The actions that rent a machine, so the team's balance must pay an hour of it first."""
RESTARTS_THE_MACHINE = {"start", "reboot", "wake"}
"""The actions after which the agent's silence counts from its first report on the restarted machine."""


@pytest.fixture
def api(api_function: ApiFunction) -> Iterator[ApiFunction]:
    METER.asked.clear()
    with composition.overridden(meter=METER):
        yield api_function


def stored_in(status: str) -> Instance:
    heard_from = NOW if status in ("running", "rebooting", "starting") else None
    instance = Instance(
        instance_id=INSTANCE_ID,
        account_id=OWNER.account_id,
        team_id=TEAM,
        gpu_type="RTX_4090",
        image="pytorch/pytorch:latest",
        disk_gb=50,
        status=InstanceStatus(status),
        last_snapshot_id="snap_00000000000000aa",
        cost_per_hour=0.4,
        last_heartbeat_at=heard_from,
        created_at=NOW,
        updated_at=NOW,
    )
    InstanceRepository(event_retention=EVENT_RETENTION).create(
        instance, InstanceEvent.of(EventType.CREATED, instance)
    )
    return instance


def stored() -> Instance:
    found = InstanceRepository(event_retention=EVENT_RETENTION).get(TEAM, INSTANCE_ID)
    assert found is not None
    return found


def status_now() -> str:
    return stored().status.value


def test_the_table_names_every_state_there_is() -> None:
    assert {status.value for status in InstanceStatus} == STATES


@pytest.mark.parametrize("status", sorted(STATES))
@pytest.mark.parametrize("action", sorted(ROUTES))
def test_an_action_is_carried_out_exactly_from_the_states_it_is_allowed_from(
    api: ApiFunction, action: str, status: str
) -> None:
    stored_in(status)
    method, route = ROUTES[action]
    answer = api(rest_event(method, route, {"instance_id": INSTANCE_ID}, principal=OWNER))
    body = answer_body(answer)
    if status in ALLOWED_FROM[action]:
        assert answer["statusCode"] in (200, 202), body
        assert status_now() == MOVES_TO[action]
        [(workflow, execution, payload)] = api.starter.started  # one workflow carries the change out
        assert workflow.value == WORKFLOWS[action]
        if action == "hibernate":  # the snapshot's workflow, named after the snapshot it takes
            assert execution.startswith("snap_") and execution.endswith("-snapshot")
        else:
            # Each request its own execution: the action's, and 8 hex digits of its own.
            assert re.fullmatch(f"{INSTANCE_ID}-{action}-[0-9a-f]{{8}}", execution), execution
        assert payload["instance"] == {"team_id": TEAM, "instance_id": INSTANCE_ID}
        charged = [asked for asked in METER.asked if asked[0] == TEAM]
        assert len(charged) == (1 if action in RENTS_A_MACHINE else 0), METER.asked
        assert all(f"{action} instance {INSTANCE_ID}" in str(asked) for asked in charged)
        if action in RESTARTS_THE_MACHINE:
            assert stored().last_heartbeat_at is None, "its silence counts from the restarted machine"
        elif status == "running":
            assert stored().last_heartbeat_at == NOW, "the machine it runs on is still heard from"
    else:
        assert answer["statusCode"] == 409, body
        assert body["error"]["code"] == "INVALID_STATE"
        assert body["error"]["details"]["current_state"] == status
        assert body["error"]["details"]["instance_id"] == INSTANCE_ID
        assert body["error"]["details"]["action"] == action
        assert body["error"]["details"]["allowed_states"] == sorted(ALLOWED_FROM[action])
        assert status_now() == status, "a refused action changes nothing"
        assert api.starter.started == [], "and starts nothing"
