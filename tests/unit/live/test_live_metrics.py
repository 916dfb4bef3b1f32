"""Who may watch an instance's live metrics, and what each heartbeat pushes to its watchers."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from dumont_core.access.models import Admission
from dumont_core.access.permissions import SYSTEM_ROLES
from dumont_core.access.rates import RateWindow
from dumont_core.instances.models import Instance
from dumont_core.instances.watchers import TooManyWatchers
from dumont_core.live.service import LiveMetricsService
from dumont_core.platform.errors import Forbidden, InstanceNotFound, RateLimited, Unauthenticated
from dumont_core.platform.identity import Principal
from tests.fakes.clock import START, Clock
from tests.fakes.instances import an_instance
from tests.fakes.live import MemoryConnections, RecordingPublisher

OURS, THEIRS = "inst_ours", "inst_theirs"
KEY, VIEWER_KEY, LIMITED_KEY, NO_VIEW_KEY = (
    "dumont_sk_ours",
    "dumont_sk_viewer",
    "dumont_sk_busy",
    "dumont_sk_x",
)
WATCHERS_ALLOWED = 3
READING = {"gpu_utilization": 87, "gpu_memory_used_gb": 18.4, "cpu_utilization": 12.0}


def _instance(instance_id: str, team_id: str) -> Instance:
    six_hours_ago = START - timedelta(hours=6)
    return an_instance(
        six_hours_ago,
        instance_id=instance_id,
        team_id=team_id,
        cost_per_hour=0.40,
        running_since=six_hours_ago,
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
    """The instances and who watches them, as the instances domain keeps them."""

    def __init__(self) -> None:
        self.instances = {OURS: _instance(OURS, "team_ours"), THEIRS: _instance(THEIRS, "team_theirs")}

    def get(self, principal: Principal, instance_id: str) -> Instance:
        instance = self.instances.get(instance_id)
        if instance is None or instance.team_id != principal.team_id:
            raise InstanceNotFound(instance_id)
        return instance

    def watch(self, team_id: str, instance_id: str, connection_id: str) -> None:
        instance = self.instances[instance_id]
        if len(instance.watchers) >= WATCHERS_ALLOWED:
            raise TooManyWatchers("three already watch", details={"limit": WATCHERS_ALLOWED})
        watchers = sorted({*instance.watchers, connection_id})
        self.instances[instance_id] = instance.model_copy(update={"watchers": watchers})

    def unwatch(self, team_id: str, instance_id: str, connection_id: str) -> None:
        instance = self.instances[instance_id]
        watchers = [each for each in instance.watchers if each != connection_id]
        self.instances[instance_id] = instance.model_copy(update={"watchers": watchers})

    def heartbeat_of(self, instance_id: str) -> Instance:
        """The instance as a heartbeat reads it."""
        return self.instances[instance_id]


@pytest.fixture
def connections() -> MemoryConnections:
    return MemoryConnections()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def instances() -> FakeInstances:
    return FakeInstances()


@pytest.fixture
def live(
    instances: FakeInstances, connections: MemoryConnections, publisher: RecordingPublisher
) -> LiveMetricsService:
    service: Any = LiveMetricsService(
        access=FakeAccess(),
        instances=instances,
        watchers=instances,
        connections=connections,  # type: ignore[arg-type]
        publisher=publisher,
        clock=Clock(START),
    )
    return service


def test_a_connection_of_the_instances_team_gets_seed_002s_payload_at_each_heartbeat(
    live: LiveMetricsService, instances: FakeInstances, publisher: RecordingPublisher
) -> None:
    live.connect(KEY, OURS, "conn-1")
    live.connect(VIEWER_KEY, OURS, "conn-2")

    assert live.publish(instances.heartbeat_of(OURS), READING) == 2

    assert sorted(connection for connection, _ in publisher.sent) == ["conn-1", "conn-2"]
    payload = json.loads(publisher.sent[0][1])
    assert payload == {
        "timestamp": "2025-03-01T12:00:00Z",
        "gpu_utilization": 87.0,
        "vram_used_gb": 18.4,
        "cost_accumulated": 2.4,  # six hours at $0.40
    }


def test_a_heartbeat_nobody_watches_pushes_nothing(
    live: LiveMetricsService, instances: FakeInstances, publisher: RecordingPublisher
) -> None:
    live.connect(KEY, OURS, "conn-1")

    assert live.publish(instances.heartbeat_of(THEIRS), READING) == 0
    assert publisher.sent == []


@pytest.mark.parametrize("credential", [None, "", "dumont_sk_unknown", "eyJ.not.a.token"])
def test_without_a_valid_credential_the_connection_is_refused_and_nothing_kept(
    live: LiveMetricsService, instances: FakeInstances, connections: MemoryConnections, credential: str | None
) -> None:
    with pytest.raises(Unauthenticated) as refused:
        live.connect(credential, OURS, "conn-1")

    assert refused.value.http_status == 401
    assert "token" in refused.value.message
    assert connections.kept == {}
    assert instances.heartbeat_of(OURS).watchers == []


def test_another_teams_instance_is_not_found_and_its_heartbeats_never_reach_the_caller(
    live: LiveMetricsService,
    instances: FakeInstances,
    connections: MemoryConnections,
    publisher: RecordingPublisher,
) -> None:
    with pytest.raises(InstanceNotFound) as refused:
        live.connect(KEY, THEIRS, "conn-1")

    assert refused.value.http_status == 404
    assert connections.kept == {}
    assert live.publish(instances.heartbeat_of(THEIRS), READING) == 0
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


def test_past_the_watchers_an_instance_allows_the_connection_is_refused_and_not_kept(
    live: LiveMetricsService, instances: FakeInstances, connections: MemoryConnections
) -> None:
    for name in ("conn-1", "conn-2", "conn-3"):
        live.connect(KEY, OURS, name)

    with pytest.raises(TooManyWatchers) as refused:
        live.connect(KEY, OURS, "conn-4")

    assert refused.value.http_status == 409 and refused.value.code == "TOO_MANY_CONNECTIONS"
    assert sorted(connections.kept) == ["conn-1", "conn-2", "conn-3"]
    assert instances.heartbeat_of(OURS).watchers == ["conn-1", "conn-2", "conn-3"]


def test_connections_that_are_gone_are_forgotten_and_the_others_still_get_the_heartbeat(
    live: LiveMetricsService,
    instances: FakeInstances,
    connections: MemoryConnections,
    publisher: RecordingPublisher,
) -> None:
    for name in ("conn-1", "conn-2", "conn-3"):
        live.connect(KEY, OURS, name)
    publisher.gone.add("conn-2")

    assert live.publish(instances.heartbeat_of(OURS), READING) == 2

    assert sorted(connections.kept) == ["conn-1", "conn-3"]
    assert instances.heartbeat_of(OURS).watchers == ["conn-1", "conn-3"]
    assert live.publish(instances.heartbeat_of(OURS), READING) == 2
    assert sorted(connection for connection, _ in publisher.sent) == ["conn-1", "conn-1", "conn-3", "conn-3"]


def test_a_failing_push_never_fails_the_heartbeat_nor_forgets_the_connection(
    live: LiveMetricsService,
    instances: FakeInstances,
    connections: MemoryConnections,
    publisher: RecordingPublisher,
) -> None:
    live.connect(KEY, OURS, "conn-1")
    live.connect(KEY, OURS, "conn-2")
    publisher.failing.add("conn-1")

    assert live.publish(instances.heartbeat_of(OURS), READING) == 1
    assert sorted(connections.kept) == ["conn-1", "conn-2"], "a timeout is not a connection that is gone"
    assert instances.heartbeat_of(OURS).watchers == ["conn-1", "conn-2"]


def test_a_table_that_cannot_be_written_never_fails_the_heartbeat(
    live: LiveMetricsService,
    instances: FakeInstances,
    publisher: RecordingPublisher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live.connect(KEY, OURS, "conn-1")
    publisher.gone.add("conn-1")

    def unavailable(*args: Any) -> None:
        raise ConnectionError("DynamoDB is unreachable")

    monkeypatch.setattr(instances, "unwatch", unavailable)

    assert live.publish(instances.heartbeat_of(OURS), READING) == 0


def test_a_closed_connection_is_forgotten_once(
    live: LiveMetricsService, instances: FakeInstances, connections: MemoryConnections
) -> None:
    live.connect(KEY, OURS, "conn-1")

    live.disconnect("conn-1")
    live.disconnect("conn-1")

    assert connections.kept == {}
    assert instances.heartbeat_of(OURS).watchers == []
