"""A provider's uptime as our machines lived it: run time against the time from each machine's death until
it was confirmed and until the instance ran again on a new machine, read by the market's providers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dumont_core.instances.models import InstanceStatus, InterruptionReason, PowerAction
from dumont_core.instances.uptime import UptimeService
from dumont_core.market.offers import OfferBook
from dumont_core.market.repository import MarketRepository
from dumont_core.market.service import MarketService
from dumont_core.providers.models import ProviderMachineStatus
from tests.integration.instances.conftest import Cloud, ref_of


def uptimes(cloud: Cloud) -> UptimeService:
    service = cloud.service.uptime
    assert isinstance(service, UptimeService)
    return service


def market(cloud: Cloud) -> MarketService:
    cloud.provider.name = "vastai"  # the provider our instances rent from, as its offers name it
    return MarketService(
        repository=MarketRepository(point_retention=timedelta(days=7), rollup_retention=timedelta(days=365)),
        clock=cloud.clock,
        offers=OfferBook(providers=[cloud.provider], ttl_seconds=30),
        uptimes=uptimes(cloud),
    )


def test_with_no_history_uptime_is_null_and_says_why(cloud: Cloud) -> None:
    (vast,) = market(cloud).providers()

    assert vast.uptime_percent is None
    assert vast.uptime_source.startswith("no history")
    assert "provider's own" in vast.reliability_source, "the reliability score is the provider's figure"


def test_an_interruption_and_its_failover_count_as_down_time(cloud: Cloud) -> None:
    provisioned = cloud.provision()
    cloud.clock.advance(hours=1)
    running = cloud.stored(provisioned.instance)
    died_at = cloud.clock() - timedelta(seconds=60)  # found dead a minute after it died

    interrupted = cloud.service.interrupt(running, InterruptionReason.SPOT_PREEMPTION, "outbid", died_at)
    waking = cloud.service.transition(
        interrupted,
        expected=[InstanceStatus.INTERRUPTED],
        changes={"status": InstanceStatus.WAKING, "failing_over_since": cloud.clock()},
    )
    cloud.clock.advance(minutes=4)  # the new machine boots and the workspace is restored
    cloud.service.transition(
        waking,
        expected=[InstanceStatus.WAKING],
        changes={
            "status": InstanceStatus.RUNNING,
            "failing_over_since": None,
            "running_since": cloud.clock(),
        },
    )

    lived = uptimes(cloud).uptime("vastai", 30)
    assert (lived.run_seconds, lived.down_seconds, lived.interruptions) == (3540, 300, 1)
    (vast,) = market(cloud).providers()
    assert vast.uptime_percent == pytest.approx(100 * 3540 / 3840, abs=0.001)
    assert vast.interruptions == 1
    assert vast.uptime_source.startswith("our own machines")


def test_a_planned_stop_is_run_time_and_never_down_time(cloud: Cloud) -> None:
    provisioned = cloud.provision()
    cloud.clock.advance(hours=2)
    cloud.ask(provisioned.instance, PowerAction.STOP)
    provisioned.machine.status = ProviderMachineStatus.STOPPED
    cloud.steps.check_power_action(ref_of(provisioned.instance), PowerAction.STOP)

    lived = uptimes(cloud).uptime("vastai", 30)
    assert (lived.run_seconds, lived.down_seconds, lived.interruptions) == (7200, 0, 0)
    assert market(cloud).providers()[0].uptime_percent == 100.0
