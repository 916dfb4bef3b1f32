"""When serverless mode hibernates an idle machine, over a real table (moto) and a controllable clock."""

from __future__ import annotations

from dumont_core.instances.models import InstanceStatus
from dumont_core.serverless.service import ServerlessService
from tests.integration.instances.conftest import PRINCIPAL, Cloud
from tests.integration.serverless.conftest import HEARTBEAT_SECONDS, IDLE, idle_for


def test_idle_time_before_serverless_mode_was_turned_on_does_not_count(
    cloud: Cloud, serverless: ServerlessService
) -> None:
    provisioned = cloud.provision()
    instance_id = provisioned.instance.instance_id
    idle_for(cloud, provisioned, 120)  # two idle minutes with serverless mode off

    serverless.enable(PRINCIPAL, instance_id, idle_timeout_minutes=0.25, gpu_threshold=5)
    idle_for(cloud, provisioned, 10)
    assert serverless.check_idle() == [], "only 10 s of the 15 s window since it was turned on"

    idle_for(cloud, provisioned, 10)
    assert serverless.check_idle() == [instance_id]
    assert cloud.stored(provisioned.instance).status == InstanceStatus.HIBERNATING


def test_a_busy_gpu_or_a_gap_in_the_heartbeats_is_never_idle(
    cloud: Cloud, serverless: ServerlessService
) -> None:
    provisioned = cloud.provision()
    instance_id = provisioned.instance.instance_id
    serverless.enable(PRINCIPAL, instance_id, idle_timeout_minutes=0.5, gpu_threshold=5)

    idle_for(cloud, provisioned, 30, gpu_utilization=40.0)
    assert serverless.check_idle() == [], "busy"
    idle_for(cloud, provisioned, 15)
    cloud.clock.advance(seconds=20)  # the agent fell silent for four intervals
    idle_for(cloud, provisioned, 15)
    assert serverless.check_idle() == [], "a silent machine is not an idle one"
    idle_for(cloud, provisioned, 20)
    assert serverless.check_idle() == [instance_id]


def test_an_instance_deleted_or_no_longer_serverless_is_no_longer_watched_and_the_others_still_are(
    cloud: Cloud, serverless: ServerlessService
) -> None:
    deleted, disabled, idle = (cloud.provision() for _ in range(3))
    for provisioned in (deleted, disabled, idle):
        serverless.enable(
            PRINCIPAL, provisioned.instance.instance_id, idle_timeout_minutes=0.25, gpu_threshold=5
        )
    cloud.delete(deleted.instance)
    serverless.disable(PRINCIPAL, disabled.instance.instance_id)
    for _ in range(20 // HEARTBEAT_SECONDS):
        for provisioned in (disabled, idle):
            instance = provisioned.instance
            cloud.service.record_heartbeat(instance.team_id, instance.instance_id, IDLE)
        cloud.clock.advance(seconds=HEARTBEAT_SECONDS)

    assert serverless.check_idle() == [idle.instance.instance_id]
    watched = {(entry.team_id, entry.instance_id) for entry in serverless.repository.watched()}
    assert (deleted.instance.team_id, deleted.instance.instance_id) not in watched
    assert (disabled.instance.team_id, disabled.instance.instance_id) not in watched
    assert cloud.stored(disabled.instance).status == InstanceStatus.RUNNING
