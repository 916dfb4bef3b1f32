"""What the other domains change on an instance through the instance service, and what it answers for
one it cannot find: a completed snapshot, an event on its own, its SSH keys, its standby machine, a
start priced at the machine it ran on, the loss of its machine; each written on the condition it was
asked to hold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dumont_core.instances.models import (
    EventType,
    Instance,
    InstanceEvent,
    InstanceStatus,
    InterruptionReason,
    PowerAction,
    StaleInstanceState,
    Standby,
)
from dumont_core.instances.service import InstanceService
from dumont_core.instances.uptime import UptimeService
from dumont_core.platform.errors import InstanceNotFound
from dumont_core.platform.identity import Principal
from tests.fakes.meter import CountingMeter, FixedQuotes
from tests.integration.instances.conftest import PRINCIPAL, SSH_KEY, Cloud

SNAPSHOT_ID = "snap_00000000000000bb"
STANDBY = Standby(kind="cpu", provider="ec2", machine_id="i-0standby", state="ready")


def stored_in(cloud: Cloud, status: InstanceStatus, **fields: Any) -> Instance:
    """An instance of the test's team recorded in `status`, as a workflow would have left it."""
    now = cloud.clock()
    instance = Instance(
        instance_id="inst_00000000000000bb",
        account_id=PRINCIPAL.account_id,
        team_id=PRINCIPAL.team_id,
        gpu_type="RTX_4090",
        image="pytorch/pytorch:latest",
        disk_gb=50,
        status=status,
        created_at=now,
        updated_at=now,
        **fields,
    )
    cloud.repository.create(instance, InstanceEvent.of(EventType.CREATED, instance))
    return instance


def test_an_instance_that_does_not_exist_or_is_another_team_s_is_not_found(cloud: Cloud) -> None:
    instance = cloud.create()
    other_team = Principal(account_id="acct_2", team_id="team_2")

    for principal, instance_id in [(PRINCIPAL, "inst_missing"), (other_team, instance.instance_id)]:
        with pytest.raises(InstanceNotFound) as missing:
            cloud.service.get(principal, instance_id)
        assert missing.value.http_status == 404
        assert missing.value.message == f"Instance {instance_id} not found"
        assert missing.value.details == {"instance_id": instance_id}


def test_starting_a_stopped_instance_needs_an_hour_at_the_price_it_ran_at(cloud: Cloud) -> None:
    meter, quotes = CountingMeter(), FixedQuotes(9.99)
    service = InstanceService(
        repository=cloud.repository,
        readings=cloud.service.readings,
        publisher=cloud.publisher,
        workflows=cloud.starter,
        meter=meter,
        quotes=quotes,
        clock=cloud.clock,
    )
    instance = stored_in(cloud, InstanceStatus.STOPPED, cost_per_hour=0.4)

    service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.START)

    assert meter.asked == [("team_1", 0.4, f"start instance {instance.instance_id}")]
    assert quotes.asked == [], "it starts again on the machine it had, at that machine's price"


def test_a_snapshot_completed_while_running_is_the_one_a_lost_machine_is_woken_from(cloud: Cloud) -> None:
    instance = cloud.provision().instance
    cloud.clock.advance(minutes=7)

    cloud.service.snapshot_completed(
        instance.team_id, instance.instance_id, snapshot_id=SNAPSHOT_ID, size_gb=3
    )

    stored = cloud.stored(instance)
    assert (stored.last_snapshot_id, stored.last_snapshot_at) == (SNAPSHOT_ID, cloud.clock())
    completed = cloud.published(instance)[-1]
    assert (completed.type, completed.details) == (
        EventType.SNAPSHOT_COMPLETED,
        {"snapshot_id": SNAPSHOT_ID, "size_gb": 3},
    )
    assert cloud.repository.list_events(instance.instance_id)[-1] == completed


def test_a_snapshot_completed_while_stopped_is_only_on_the_timeline(cloud: Cloud) -> None:
    instance = stored_in(cloud, InstanceStatus.STOPPED, last_snapshot_id="snap_older")

    cloud.service.snapshot_completed(
        instance.team_id, instance.instance_id, snapshot_id=SNAPSHOT_ID, size_gb=3
    )

    stored = cloud.stored(instance)
    assert (stored.last_snapshot_id, stored.updated_at) == ("snap_older", instance.updated_at)
    assert cloud.timeline(instance) == ["instance.created", "snapshot.completed"]
    [completed] = cloud.published(instance)
    assert completed.details == {"snapshot_id": SNAPSHOT_ID, "size_gb": 3}


def test_an_event_about_an_instance_keeps_its_details_and_changes_nothing_else(cloud: Cloud) -> None:
    instance = stored_in(cloud, InstanceStatus.RUNNING)

    cloud.service.record_event(
        instance.team_id, instance.instance_id, EventType.SNAPSHOT_FAILED, error="disk full"
    )
    cloud.service.record_event(instance.team_id, "inst_gone", EventType.SNAPSHOT_FAILED, error="disk full")

    [failed] = cloud.publisher.published
    assert (failed.type, failed.instance_id, failed.details) == (
        EventType.SNAPSHOT_FAILED,
        instance.instance_id,
        {"error": "disk full"},
    )
    assert cloud.repository.list_events(instance.instance_id)[-1] == failed
    assert cloud.stored(instance) == instance


def test_ssh_keys_are_replaced_only_on_the_instance_as_it_was_read(cloud: Cloud) -> None:
    read = cloud.create(ssh_key=SSH_KEY)
    cloud.clock.advance(seconds=5)
    cloud.service.transition(read, expected=[InstanceStatus.STARTING], changes={"name": "renamed"})

    with pytest.raises(StaleInstanceState):
        cloud.service.replace_ssh_keys(read, [])

    fresh = cloud.stored(read)
    assert len(fresh.ssh_keys) == 1, "a change made meanwhile keeps the keys; the caller reads again"
    assert cloud.service.replace_ssh_keys(fresh, []).ssh_keys == []
    assert cloud.stored(read).ssh_keys == []


def test_a_change_on_a_state_alone_goes_through_whatever_else_changed_since_the_read(cloud: Cloud) -> None:
    read = stored_in(cloud, InstanceStatus.RUNNING)
    cloud.clock.advance(seconds=5)
    cloud.service.transition(read, expected=[InstanceStatus.RUNNING], changes={"name": "renamed"})

    stopping = cloud.service.transition(
        read, expected=[InstanceStatus.RUNNING], changes={"status": InstanceStatus.STOPPING}
    )

    assert stopping.status == InstanceStatus.STOPPING
    assert cloud.stored(read).name == "renamed"


def test_an_instance_holding_a_standby_changes_state_as_any_other(cloud: Cloud) -> None:
    instance = stored_in(cloud, InstanceStatus.RUNNING, standby=STANDBY)

    stopping = cloud.service.request_power_action(PRINCIPAL, instance.instance_id, PowerAction.STOP)

    assert (stopping.status, cloud.stored(instance).standby) == (InstanceStatus.STOPPING, STANDBY)


def test_a_standby_is_kept_only_if_the_instance_holds_the_one_it_was_read_with(cloud: Cloud) -> None:
    instance = stored_in(cloud, InstanceStatus.RUNNING, standby=STANDBY)
    another = STANDBY.model_copy(update={"machine_id": "i-0another"})

    with pytest.raises(StaleInstanceState):
        cloud.service.transition(
            instance, expected=[InstanceStatus.RUNNING], changes={"standby": another}, standby_was=None
        )

    assert cloud.stored(instance).standby == STANDBY, "another standby was rented meanwhile: not replaced"
    cloud.service.transition(
        instance, expected=[InstanceStatus.RUNNING], changes={"standby": another}, standby_was=STANDBY
    )
    assert cloud.stored(instance).standby == another


def test_the_run_time_of_a_stopped_instance_counts_toward_its_provider_s_uptime(cloud: Cloud) -> None:
    instance = stored_in(cloud, InstanceStatus.RUNNING, running_since=cloud.clock())
    cloud.clock.advance(hours=1)

    cloud.service.transition(
        instance,
        expected=[InstanceStatus.RUNNING],
        changes={"status": InstanceStatus.STOPPED, **instance.billing_stopped_at(cloud.clock())},
    )

    uptimes = cloud.service.uptime
    assert isinstance(uptimes, UptimeService)
    lived = uptimes.uptime("vastai", 1)
    assert (lived.run_seconds, lived.down_seconds) == (timedelta(hours=1).total_seconds(), 0.0)


def interrupted_event(cloud: Cloud, instance: Instance) -> dict[str, object]:
    [interrupted] = [event for event in cloud.published(instance) if event.type == EventType.INTERRUPTED]
    return interrupted.details


def test_an_interruption_tells_to_the_tenth_of_a_second_how_late_it_was_seen_and_what_a_failover_loses(
    cloud: Cloud,
) -> None:
    started = cloud.clock()
    instance = stored_in(
        cloud,
        InstanceStatus.RUNNING,
        running_since=started,
        last_snapshot_at=started + timedelta(seconds=10),
        suspected_at=started + timedelta(seconds=17.26),
    )
    died_at = started + timedelta(seconds=17)
    cloud.clock.advance(seconds=29.34)

    cloud.service.interrupt(instance, InterruptionReason.HOST_OFFLINE, "host went dark", died_at)

    assert interrupted_event(cloud, instance) == {
        "gpu": "RTX_4090",
        "reason": "host_offline",
        "died_at": died_at.isoformat(),
        "detected_after_seconds": 12.3,
        "data_window_seconds": 7.3,
    }
    stored = cloud.stored(instance)
    assert (stored.status, stored.status_reason) == (
        InstanceStatus.INTERRUPTED,
        "interrupted (host_offline): host went dark",
    )
    assert stored.billed_seconds == 17, "billed until it died"


def test_a_machine_dead_before_its_instance_ran_on_it_is_counted_dead_from_when_it_ran(cloud: Cloud) -> None:
    instance = stored_in(
        cloud, InstanceStatus.RUNNING, running_since=cloud.clock(), last_snapshot_at=cloud.clock()
    )

    cloud.service.interrupt(
        instance, InterruptionReason.MACHINE_LOST, "gone", cloud.clock() - timedelta(minutes=1)
    )

    details = interrupted_event(cloud, instance)
    assert details["died_at"] == cloud.clock().isoformat()
    assert (details["detected_after_seconds"], details["data_window_seconds"]) == (0.0, 0.0)
    assert cloud.stored(instance).billed_seconds == 0


def test_an_unbilled_instance_is_interrupted_as_of_the_death_it_is_told(cloud: Cloud) -> None:
    instance = stored_in(cloud, InstanceStatus.RUNNING)
    died_at = cloud.clock() - timedelta(minutes=1)

    cloud.service.interrupt(instance, InterruptionReason.SPOT_PREEMPTION, "outbid", died_at)

    details = interrupted_event(cloud, instance)
    assert (details["died_at"], details["detected_after_seconds"]) == (died_at.isoformat(), 60.0)
    assert "data_window_seconds" not in details, "no snapshot to lose changes since"


def test_an_instance_whose_billing_changed_waits_for_the_meter_until_settled_as_of_its_last_change(
    cloud: Cloud,
) -> None:
    instance = stored_in(cloud, InstanceStatus.RUNNING)
    first = cloud.service.transition(
        instance, expected=[InstanceStatus.RUNNING], changes={"cost_per_hour": 0.4}
    )
    [(unsettled, changed_at)] = cloud.service.unsettled()
    assert (unsettled.instance_id, unsettled.cost_per_hour, changed_at) == (
        instance.instance_id,
        0.4,
        cloud.clock(),
    )
    cloud.clock.advance(seconds=30)
    cloud.service.transition(first, expected=[InstanceStatus.RUNNING], changes={"cost_per_hour": 0.5})

    cloud.service.mark_settled(unsettled, changed_at)

    [(still, changed_again_at)] = cloud.service.unsettled()
    assert (still.cost_per_hour, changed_again_at) == (0.5, cloud.clock()), "changed since: still to settle"
    cloud.service.mark_settled(still, changed_again_at)
    assert cloud.service.unsettled() == []
