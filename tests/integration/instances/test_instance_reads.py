"""A team's instances as its people read them (a page of the list, filtered; an instance's timeline;
the charts of its agent's readings), the heartbeats that bring those readings, and what the other
domains record on an instance without asking for a state of it: a machine destroyed for having
outlived its use, a latest snapshot deleted, failover's settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dumont_core.instances.models import AGENT_STATES, EventType, Instance, InstanceStatus, StaleInstanceState
from dumont_core.platform.errors import InstanceNotFound, Unauthenticated
from dumont_core.platform.identity import Principal
from tests.integration.instances.conftest import PRINCIPAL, Cloud, spec

OTHER_TEAM = Principal(account_id="acct_2", team_id="team_2")
SNAPSHOT_ID = "snap_00000000000000cc"


def created_a_minute_apart(cloud: Cloud, count: int, **overrides: object) -> list[str]:
    """The ids of `count` new instances of the test's team, the newest first."""
    ids = []
    for _ in range(count):
        ids.append(cloud.create(**overrides).instance_id)
        cloud.clock.advance(minutes=1)
    return ids[::-1]


def moved_to(cloud: Cloud, instance_id: str, status: InstanceStatus) -> Instance:
    instance = cloud.service.get(PRINCIPAL, instance_id)
    return cloud.service.transition(instance, expected=[instance.status], changes={"status": status})


def test_a_page_of_the_list_holds_the_team_s_instances_newest_first_and_counts_them_all(cloud: Cloud) -> None:
    newest_first = created_a_minute_apart(cloud, 5)
    cloud.service.create(OTHER_TEAM, spec())

    def page(number: int, per_page: int) -> tuple[list[str], int, int, int]:
        listed = cloud.service.list_page(
            PRINCIPAL, status=None, gpu_type=None, page=number, per_page=per_page
        )
        return [instance.instance_id for instance in listed.items], listed.page, listed.per_page, listed.total

    assert page(1, 2) == (newest_first[:2], 1, 2, 5)
    assert page(2, 2) == (newest_first[2:4], 2, 2, 5)
    assert page(3, 2) == (newest_first[4:], 3, 2, 5)
    assert page(4, 2) == ([], 4, 2, 5)
    assert page(1, 10) == (newest_first, 1, 10, 5)
    assert [instance.instance_id for instance in cloud.service.list_all(PRINCIPAL)] == newest_first


def test_the_list_filtered_by_status_and_gpu_type_counts_only_what_matches(cloud: Cloud) -> None:
    rtx = created_a_minute_apart(cloud, 3)
    a100 = created_a_minute_apart(cloud, 2, gpu_type="A100")
    moved_to(cloud, rtx[0], InstanceStatus.FAILED)
    moved_to(cloud, a100[1], InstanceStatus.FAILED)

    def listed(status: InstanceStatus | None, gpu_type: str | None) -> tuple[list[str], int]:
        page = cloud.service.list_page(PRINCIPAL, status=status, gpu_type=gpu_type, page=1, per_page=10)
        return [instance.instance_id for instance in page.items], page.total

    assert listed(InstanceStatus.FAILED, None) == ([a100[1], rtx[0]], 2)
    assert listed(None, "A100") == (a100, 2)
    assert listed(InstanceStatus.STARTING, "RTX_4090") == (rtx[1:], 2)


def test_an_instance_s_timeline_is_read_by_its_team_alone(cloud: Cloud) -> None:
    instance = cloud.provision().instance

    timeline = cloud.service.events(PRINCIPAL, instance.instance_id)

    assert [event.type for event in timeline] == [EventType.CREATED, EventType.STARTED, EventType.READY]
    assert cloud.service.timeline_of(instance) == timeline
    with pytest.raises(InstanceNotFound):
        cloud.service.events(OTHER_TEAM, instance.instance_id)


def test_a_machine_destroyed_for_outliving_its_use_is_on_its_instance_s_timeline(cloud: Cloud) -> None:
    instance = cloud.create()

    cloud.service.record_orphan_destroyed(instance.team_id, instance.instance_id, machine_id="m-7", cost=0.2)

    destroyed = cloud.published(instance)[-1]
    assert (destroyed.type, destroyed.account_id, destroyed.team_id, destroyed.details) == (
        EventType.ORPHAN_DESTROYED,
        PRINCIPAL.account_id,
        PRINCIPAL.team_id,
        {"machine_id": "m-7", "cost": 0.2},
    )
    assert cloud.repository.list_events(instance.instance_id)[-1] == destroyed


def test_a_machine_destroyed_for_an_instance_no_longer_recorded_is_told_on_the_bus_alone(
    cloud: Cloud,
) -> None:
    cloud.service.record_orphan_destroyed("team_9", "inst_forgotten", machine_id="m-8", cost=None)

    [destroyed] = cloud.publisher.published
    assert (destroyed.type, destroyed.instance_id, destroyed.account_id, destroyed.team_id) == (
        EventType.ORPHAN_DESTROYED,
        "inst_forgotten",
        "unknown",
        "team_9",
    )
    assert destroyed.details == {"machine_id": "m-8"}, "what is not known is left out"
    assert cloud.repository.list_events("inst_forgotten") == []


def test_a_deleted_latest_snapshot_is_replaced_only_on_the_instance_as_it_was_read(cloud: Cloud) -> None:
    read = moved_to(cloud, cloud.create().instance_id, InstanceStatus.FAILED)
    cloud.clock.advance(minutes=1)
    earlier = cloud.clock() - timedelta(hours=1)

    cloud.service.replace_latest_snapshot(read, SNAPSHOT_ID, earlier)

    stored = cloud.stored(read)
    assert (stored.status, stored.last_snapshot_id, stored.last_snapshot_at) == (
        InstanceStatus.FAILED,
        SNAPSHOT_ID,
        earlier,
    )
    with pytest.raises(StaleInstanceState):
        cloud.service.replace_latest_snapshot(read, None, None)
    cloud.service.replace_latest_snapshot(stored, None, None)
    assert (cloud.stored(read).last_snapshot_id, cloud.stored(read).last_snapshot_at) == (None, None)


def test_failover_settings_are_changed_in_any_state_but_once_deleting(cloud: Cloud) -> None:
    stopped = moved_to(cloud, cloud.create().instance_id, InstanceStatus.STOPPED)
    cloud.clock.advance(minutes=1)

    configured = cloud.service.configure(
        stopped, {"failover_enabled": True, "checkpoint_interval_minutes": 30}
    )

    assert cloud.stored(stopped) == configured
    assert (configured.failover_enabled, configured.checkpoint_interval_minutes) == (True, 30)
    assert configured.updated_at == cloud.clock()
    deleting = moved_to(cloud, stopped.instance_id, InstanceStatus.DELETING)
    with pytest.raises(StaleInstanceState):
        cloud.service.configure(deleting, {"checkpoint_interval_minutes": 5})
    assert cloud.stored(stopped).checkpoint_interval_minutes == 30


def running_instance(cloud: Cloud) -> Instance:
    instance = moved_to(cloud, cloud.create().instance_id, InstanceStatus.RUNNING)
    assert instance.status in AGENT_STATES
    return instance


def test_a_heartbeat_keeps_the_reading_and_the_interval_the_agent_was_told(cloud: Cloud) -> None:
    instance = running_instance(cloud)
    cloud.clock.advance(seconds=30)

    cloud.service.record_heartbeat(PRINCIPAL.team_id, instance.instance_id, {"gpu_utilization": 42.0}, 5)

    stored = cloud.stored(instance)
    assert (stored.last_heartbeat_at, stored.heartbeat_interval_seconds) == (cloud.clock(), 5)
    assert stored.latest_reading("gpu_utilization") == 42.0
    heard_at = cloud.clock()
    cloud.clock.advance(seconds=30)
    cloud.service.record_heartbeat(PRINCIPAL.team_id, instance.instance_id, {"gpu_utilization": 43.0})
    [sample] = cloud.service.metric_samples(instance.instance_id, heard_at - timedelta(minutes=1), heard_at)
    assert (sample.timestamp, sample.values["gpu_utilization"]) == (heard_at, 42.0), "up to `until` alone"


def test_a_heartbeat_from_an_instance_whose_machine_no_longer_runs_is_refused(cloud: Cloud) -> None:
    stopped = moved_to(cloud, cloud.create().instance_id, InstanceStatus.STOPPED)

    with pytest.raises(Unauthenticated) as refused:
        cloud.service.record_heartbeat(PRINCIPAL.team_id, stopped.instance_id, {"gpu_utilization": 42.0})

    assert (refused.value.http_status, refused.value.message) == (
        401,
        "This instance no longer runs an agent",
    )
    assert cloud.stored(stopped).last_heartbeat_at is None


def test_the_charts_of_each_period_average_the_readings_over_their_own_points(cloud: Cloud) -> None:
    instance = running_instance(cloud)
    start = cloud.clock().replace(minute=0, second=0, microsecond=0)
    week_ago = timedelta(days=-7)
    readings = [
        (week_ago + timedelta(minutes=80), 90.0),
        (timedelta(seconds=10), 10.0),
        (timedelta(seconds=50), 30.0),
        (timedelta(minutes=20), 50.0),
        (timedelta(minutes=65), 70.0),
    ]
    for at, gpu in readings:
        cloud.clock.now = start + at
        cloud.service.record_heartbeat(PRINCIPAL.team_id, instance.instance_id, {"gpu_utilization": gpu})
    cloud.clock.now = start + timedelta(minutes=70)

    def chart(period: str) -> list[tuple[timedelta, float | None, int]]:
        points = cloud.service.metrics(PRINCIPAL, instance.instance_id, period)
        return [(point.timestamp - start, point.values["gpu_utilization"], point.samples) for point in points]

    minutes = [timedelta(minutes=n) for n in (0, 15, 20, 60, 65)]
    assert chart("1h") == [(minutes[2], 50.0, 1), (minutes[4], 70.0, 1)], "the last hour, minute by minute"
    assert chart("24h") == [(minutes[0], 20.0, 2), (minutes[1], 50.0, 1), (minutes[3], 70.0, 1)]
    # Hour by hour, from the first whole hour of the week: the hour it began in is left out.
    assert chart("7d") == [(minutes[0], 30.0, 3), (minutes[3], 70.0, 1)]
    assert chart("30d") == [(week_ago, 90.0, 1), (minutes[0], 40.0, 4)], "six hours a point"
    with pytest.raises(InstanceNotFound):
        cloud.service.metrics(OTHER_TEAM, instance.instance_id, "1h")
