"""Who may watch an instance's live metrics, and what each heartbeat pushes to its watchers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from dumont_core.access.models import Admission
from dumont_core.access.permissions import SYSTEM_ROLES
from dumont_core.access.rates import RateWindow
from dumont_core.instances.models import Instance, InstanceStatus
from dumont_core.live.service import LiveMetricsService
from dumont_core.platform.errors import Forbidden, InstanceNotFound, RateLimited, Unauthenticated
from dumont_core.platform.identity import Principal
from tests.fakes.clock import START, Clock
from tests.fakes.live import MemoryConnections, RecordingPublisher

OURS, THEIRS = "inst_ours", "inst_theirs"
KEY, VIEWER_KEY, LIMITED_KEY, NO_VIEW_KEY = (
    "dumont_sk_ours",
    "dumont_sk_viewer",
    "dumont_sk_busy",
    "dumont_sk_x",
)
READING = {"gpu_utilization": 87, "gpu_memory_used_gb": 18.4, "cpu_utilization": 12.0}


def _instance(instance_id: str, team_id: str) -> Instance:
    return Instance(
        instance_id=instance_id,
        account_id="acct_1",
        team_id=team_id,
        gpu_type="RTX_4090",
        image="pytorch/pytorch:latest",
        disk_gb=50,
        status=InstanceStatus.RUNNING,
        created_at=START - timedelta(hours=6),
        updated_at=START - timedelta(hours=6),
        cost_per_hour=0.40,
        running_since=START - timedelta(hours=6),
    )


def _admission(role: str, *, limited: bool = False, permissions: frozenset[str] | None = None) -> Admission:
    principal = Principal(
        account_id="acct_1",
        team_id="team_ours",
        role=role,
        permissions=SYSTEM_ROLES[role] if permissions is None else permissions,
    )
    rate = RateWindow(
        limit=60, remaining=0 if limited else 59, reset_at=int(START.timestamp()) + 30, limited=limited
    )
    return Admission(principal=principal, rate=rate, usage_key=None)


class FakeAccess:
    admissions = {
        KEY: _admission("developer"),
        VIEWER_KEY: _admission("viewer"),
        LIMITED_KEY: _admission("developer", limited=True),
        NO_VIEW_KEY: _admission("custom", permissions=frozenset({"snapshots.view"})),
    }

    def admit(self, credential: str) -> Admission | None:
        return self.admissions.get(credential)


class FakeInstances:
    def __init__(self) -> None:
        self.instances = {OURS: _instance(OURS, "team_ours"), THEIRS: _instance(THEIRS, "team_theirs")}

    def get(self, principal: Principal, instance_id: str) -> Instance:
        instance = self.find(principal.team_id, instance_id)
        if instance is None:
            raise InstanceNotFound(instance_id)
        return instance

    def find(self, team_id: str, instance_id: str) -> Instance | None:
        instance = self.instances.get(instance_id)
        return instance if instance is not None and instance.team_id == team_id else None


@pytest.fixture
def connections() -> MemoryConnections:
    return MemoryConnections()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def live(connections: MemoryConnections, publisher: RecordingPublisher) -> LiveMetricsService:
    service: Any = LiveMetricsService(
        access=FakeAccess(),
        instances=FakeInstances(),
        connections=connections,  # type: ignore[arg-type]
        publisher=publisher,
        clock=Clock(START),
    )
    return service


def test_a_connection_of_the_instances_team_gets_seed_002s_payload_at_each_heartbeat(
    live: LiveMetricsService, publisher: RecordingPublisher
) -> None:
    live.connect(KEY, OURS, "conn-1")
    live.connect(VIEWER_KEY, OURS, "conn-2")

    assert live.publish("team_ours", OURS, READING) == 2

    assert sorted(connection for connection, _ in publisher.sent) == ["conn-1", "conn-2"]
    payload = json.loads(publisher.sent[0][1])
    assert payload == {
        "timestamp": "2025-03-01T12:00:00Z",
        "gpu_utilization": 87.0,
        "vram_used_gb": 18.4,
        "cost_accumulated": 2.4,  # six hours at $0.40
    }


def test_a_heartbeat_nobody_watches_pushes_nothing(
    live: LiveMetricsService, publisher: RecordingPublisher
) -> None:
    live.connect(KEY, OURS, "conn-1")

    assert live.publish("team_theirs", THEIRS, READING) == 0
    assert publisher.sent == []


@pytest.mark.parametrize("credential", [None, "", "dumont_sk_unknown", "eyJ.not.a.token"])
def test_without_a_valid_credential_the_connection_is_refused_and_nothing_kept(
    live: LiveMetricsService, connections: MemoryConnections, credential: str | None
) -> None:
    with pytest.raises(Unauthenticated) as refused:
        live.connect(credential, OURS, "conn-1")

    assert refused.value.http_status == 401
    assert "token" in refused.value.message
    assert connections.kept == {}


def test_another_teams_instance_is_not_found_and_its_heartbeats_never_reach_the_caller(
    live: LiveMetricsService, connections: MemoryConnections, publisher: RecordingPublisher
) -> None:
    with pytest.raises(InstanceNotFound) as refused:
        live.connect(KEY, THEIRS, "conn-1")

    assert refused.value.http_status == 404
    assert connections.kept == {}
    assert live.publish("team_theirs", THEIRS, READING) == 0
    assert publisher.sent == []


def test_a_role_that_may_not_view_instances_is_forbidden(
    live: LiveMetricsService, connections: MemoryConnections
) -> None:
    with pytest.raises(Forbidden) as refused:
        live.connect(NO_VIEW_KEY, OURS, "conn-1")

    assert refused.value.details["permission"] == "instances.view"
    assert connections.kept == {}


def test_past_the_plans_limit_the_connection_is_refused_with_when_to_retry(
    live: LiveMetricsService, connections: MemoryConnections
) -> None:
    with pytest.raises(RateLimited) as refused:
        live.connect(LIMITED_KEY, OURS, "conn-1")

    assert refused.value.details["retry_after"] == 30
    assert connections.kept == {}


def test_connections_that_are_gone_are_forgotten_and_the_others_still_get_the_heartbeat(
    live: LiveMetricsService, connections: MemoryConnections, publisher: RecordingPublisher
) -> None:
    for name in ("conn-1", "conn-2", "conn-3"):
        live.connect(KEY, OURS, name)
    publisher.gone.add("conn-2")

    assert live.publish("team_ours", OURS, READING) == 2

    assert sorted(connections.kept) == ["conn-1", "conn-3"]
    assert live.publish("team_ours", OURS, READING) == 2
    assert sorted(connection for connection, _ in publisher.sent) == ["conn-1", "conn-1", "conn-3", "conn-3"]


def test_a_failing_push_never_fails_the_heartbeat_nor_forgets_the_connection(
    live: LiveMetricsService, connections: MemoryConnections, publisher: RecordingPublisher
) -> None:
    live.connect(KEY, OURS, "conn-1")
    live.connect(KEY, OURS, "conn-2")
    publisher.failing.add("conn-1")

    assert live.publish("team_ours", OURS, READING) == 1
    assert sorted(connections.kept) == ["conn-1", "conn-2"], "a timeout is not a connection that is gone"


def test_a_table_that_cannot_be_read_never_fails_the_heartbeat(
    live: LiveMetricsService, connections: MemoryConnections, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(instance_id: str) -> list[Any]:
        raise ConnectionError("DynamoDB is unreachable")

    monkeypatch.setattr(connections, "watching", unavailable)

    assert live.publish("team_ours", OURS, READING) == 0


def test_a_closed_connection_is_forgotten_once(
    live: LiveMetricsService, connections: MemoryConnections
) -> None:
    live.connect(KEY, OURS, "conn-1")

    live.disconnect("conn-1")
    live.disconnect("conn-1")

    assert connections.kept == {}
