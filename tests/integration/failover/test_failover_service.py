"""Setting failover up, reading where it stands, and drills, over the real instance service (moto)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from dumont_core.failover.models import history_of
from dumont_core.failover.paths import FailoverRecovery
from dumont_core.failover.service import FailoverService
from dumont_core.instances.models import (
    EventType,
    FailoverStrategy,
    Instance,
    InstanceEvent,
    InstanceStatus,
    Standby,
)
from dumont_core.platform.errors import Conflict, InvalidState, ServiceUnavailable
from dumont_core.providers.models import MachineRequest
from tests.integration.instances.conftest import PRINCIPAL, Cloud, Provisioned


@dataclass
class RecordingPath:
    """Stands in for a strategy's path: remembers what it was asked to bring back and give up."""

    asked: list[Instance] = field(default_factory=list)
    released: list[Instance] = field(default_factory=list)

    def recover(self, instance: Instance) -> Instance | None:
        self.asked.append(instance)
        return None

    def prepare(self, instance: Instance) -> None:
        pass

    def keep_ready(self, instance: Instance) -> None:
        pass

    def release(self, instance: Instance) -> None:
        self.released.append(instance)


@pytest.fixture
def recovery() -> RecordingPath:
    return RecordingPath()


@pytest.fixture
def failover(cloud: Cloud, recovery: RecordingPath) -> FailoverService:
    paths = FailoverRecovery(instances=cloud.service, fallback=recovery)
    return FailoverService(instances=cloud.service, recovery=paths, clock=cloud.clock)


def with_snapshot(cloud: Cloud, provisioned: Provisioned) -> None:
    instance = provisioned.instance
    cloud.service.snapshot_completed(
        instance.team_id, instance.instance_id, snapshot_id="snap_00000000000000a1"
    )


def test_configure_turns_failover_on_with_sensible_defaults_and_off_again(
    cloud: Cloud, failover: FailoverService
) -> None:
    instance = cloud.provision().instance

    on = failover.configure(
        PRINCIPAL, instance.instance_id, enabled=True, strategy=None, checkpoint_interval_minutes=None
    )
    assert (on.enabled, on.strategy, on.checkpoint_interval_minutes) == (True, "snapshot", 10.0)
    faster = failover.configure(
        PRINCIPAL, instance.instance_id, enabled=True, strategy=None, checkpoint_interval_minutes=0.5
    )
    assert (faster.strategy, faster.checkpoint_interval_minutes) == ("snapshot", 0.5)
    off = failover.configure(
        PRINCIPAL, instance.instance_id, enabled=False, strategy=None, checkpoint_interval_minutes=None
    )
    assert off.enabled is False
    assert cloud.stored(instance).failover_enabled is False


def test_an_instance_created_with_failover_on_shows_the_checkpoint_interval_that_applies(
    cloud: Cloud, failover: FailoverService
) -> None:
    instance = cloud.create(failover_enabled=True)

    assert failover.status(PRINCIPAL, instance.instance_id).checkpoint_interval_minutes == 10.0
    without = cloud.create()
    assert failover.status(PRINCIPAL, without.instance_id).checkpoint_interval_minutes is None


def test_status_says_what_a_failover_now_would_lose(cloud: Cloud, failover: FailoverService) -> None:
    provisioned = cloud.provision(failover_enabled=True)
    assert failover.status(PRINCIPAL, provisioned.instance.instance_id).data_at_risk_seconds is None
    with_snapshot(cloud, provisioned)
    cloud.clock.advance(minutes=7)

    status = failover.status(PRINCIPAL, provisioned.instance.instance_id)

    assert status.last_checkpoint_id == "snap_00000000000000a1"
    assert status.data_at_risk_seconds == 7 * 60
    assert status.history == []


@pytest.mark.parametrize(
    ("failover_enabled", "snapshot", "refusal"),
    [(False, True, Conflict), (True, False, Conflict)],
    ids=["failover off", "no snapshot to come back from"],
)
def test_a_drill_is_refused_when_it_could_not_come_back(
    cloud: Cloud,
    failover: FailoverService,
    recovery: RecordingPath,
    failover_enabled: bool,
    snapshot: bool,
    refusal: type[Exception],
) -> None:
    provisioned = cloud.provision(failover_enabled=failover_enabled)
    if snapshot:
        with_snapshot(cloud, provisioned)

    with pytest.raises(refusal):
        failover.trigger(PRINCIPAL, provisioned.instance.instance_id)

    assert cloud.stored(provisioned.instance).status == InstanceStatus.RUNNING
    assert recovery.asked == []


def test_a_drill_on_an_instance_that_does_not_run_is_refused(cloud: Cloud, failover: FailoverService) -> None:
    instance = cloud.create(failover_enabled=True)

    with pytest.raises(InvalidState):
        failover.trigger(PRINCIPAL, instance.instance_id)


def test_a_drill_interrupts_the_instance_and_fails_it_over_as_a_real_failure(
    cloud: Cloud, failover: FailoverService, recovery: RecordingPath
) -> None:
    provisioned = cloud.provision(failover_enabled=True)
    with_snapshot(cloud, provisioned)

    failover.trigger(PRINCIPAL, provisioned.instance.instance_id)

    interrupted = cloud.stored(provisioned.instance)
    assert interrupted.status == InstanceStatus.INTERRUPTED
    assert (interrupted.status_reason or "").startswith("interrupted (drill)")
    assert [instance.instance_id for instance in recovery.asked] == [provisioned.instance.instance_id]
    assert cloud.timeline(provisioned.instance)[-2:] == ["failover.triggered", "instance.interrupted"]
    # The API cannot reach the provider: the machine it let go of goes with the reconciler's next pass.
    assert cloud.reconciler.reconcile().destroyed == [provisioned.machine.machine_id]


def test_the_history_pairs_each_failover_with_its_reason_and_outcome() -> None:
    instance = Instance.model_validate(
        {
            "instance_id": "inst_00000000000000f1",
            "account_id": "acct_1",
            "team_id": "team_1",
            "gpu_type": "RTX_4090",
            "image": "pytorch/pytorch:latest",
            "disk_gb": 50,
            "status": "running",
            "created_at": "2025-03-01T12:00:00Z",
            "updated_at": "2025-03-01T12:00:00Z",
        }
    )
    start = instance.created_at

    def event(kind: EventType, minutes: int, **details: object) -> InstanceEvent:
        happened = InstanceEvent.of(kind, instance, **details)
        return happened.model_copy(update={"timestamp": start + timedelta(minutes=minutes)})

    history = history_of(
        [
            event(EventType.FAILOVER_COMPLETED, 3, strategy="snapshot", recovered_after_seconds=61.5),
            event(
                EventType.INTERRUPTED,
                1,
                gpu="RTX 4090",
                reason="spot_preemption",
                detected_after_seconds=23.5,
                data_window_seconds=300.0,
            ),
            event(EventType.FAILOVER_STARTED, 2, strategy="snapshot", snapshot_id="snap_1"),
            event(EventType.INTERRUPTED, 10, gpu="RTX 4090", reason="host_offline"),
            event(EventType.FAILOVER_STARTED, 11, strategy="snapshot", snapshot_id="snap_2"),
            event(EventType.FAILOVER_FAILED, 12, reason="NoOfferAvailable"),
            event(EventType.INTERRUPTED, 20, gpu="RTX 4090", reason="drill"),
            event(EventType.FAILOVER_STARTED, 21, strategy="snapshot", snapshot_id="snap_3"),
        ]
    )

    assert [(record.reason, record.outcome) for record in history] == [
        ("spot_preemption", "completed"),
        ("host_offline", "failed"),
        ("drill", "in_progress"),
    ]
    assert history[0].recovered_after_seconds == 61.5 and history[1].failure == "NoOfferAvailable"
    assert (history[0].detected_after_seconds, history[0].data_window_seconds) == (23.5, 300.0)
    assert history[1].detected_after_seconds is None, "an interruption written before these fields"


@dataclass
class FailingPath(RecordingPath):
    """A strategy whose own way back fails, as when its standby died with the machine."""

    error: Exception | None = None

    def recover(self, instance: Instance) -> Instance | None:
        self.asked.append(instance)
        if self.error is not None:
            raise self.error
        return None


@pytest.mark.parametrize(
    "error", [None, ServiceUnavailable("the standby would not start")], ids=["cannot", "fails"]
)
def test_a_strategy_that_cannot_bring_the_instance_back_hands_over_to_the_snapshot(
    cloud: Cloud, error: Exception | None
) -> None:
    fallback, warm = RecordingPath(), FailingPath(error=error)
    paths = FailoverRecovery(
        instances=cloud.service, fallback=fallback, paths={FailoverStrategy.WARMPOOL: warm}
    )
    instance = cloud.provision(failover_enabled=True, failover_strategy="warmpool").instance

    paths.recover(instance)

    assert [each.instance_id for each in warm.asked] == [instance.instance_id]
    assert [each.instance_id for each in fallback.asked] == [instance.instance_id]


def test_turning_failover_off_or_changing_strategy_gives_back_what_the_old_one_kept(cloud: Cloud) -> None:
    snapshot_path, warm = RecordingPath(), RecordingPath()
    paths = FailoverRecovery(
        instances=cloud.service, fallback=snapshot_path, paths={FailoverStrategy.WARMPOOL: warm}
    )
    failover = FailoverService(instances=cloud.service, recovery=paths, clock=cloud.clock)
    instance = cloud.provision(failover_enabled=True, failover_strategy="warmpool").instance

    failover.configure(
        PRINCIPAL, instance.instance_id, enabled=True, strategy=None, checkpoint_interval_minutes=1
    )
    assert warm.released == [], "the same strategy keeps its standby"
    failover.configure(
        PRINCIPAL,
        instance.instance_id,
        enabled=True,
        strategy=FailoverStrategy.SNAPSHOT,
        checkpoint_interval_minutes=None,
    )
    assert [each.instance_id for each in warm.released] == [instance.instance_id]
    failover.configure(
        PRINCIPAL, instance.instance_id, enabled=False, strategy=None, checkpoint_interval_minutes=None
    )
    assert len(snapshot_path.released) == 1


def test_a_standby_is_kept_on_the_instance_and_its_machine_is_not_an_orphan(cloud: Cloud) -> None:
    provisioned = cloud.provision(failover_enabled=True, failover_strategy="warmpool")
    instance = provisioned.instance
    spare_offer = next(
        offer for offer in cloud.provider.offers if offer.offer_id not in cloud.provider.gone_offers
    )
    spare_id = cloud.provider.create_machine(
        MachineRequest(
            offer_id=spare_offer.offer_id, image=instance.image, disk_gb=50, label=cloud.label(instance)
        )
    )
    standby = Standby(
        kind="gpu",
        provider=instance.provider,
        machine_id=spare_id,
        state="ready",
        cost_per_hour=0.02,
        since=cloud.clock(),
    )
    cloud.service.configure(instance, {"standby": standby})

    assert cloud.stored(instance).standby == standby
    assert cloud.reconciler.reconcile().destroyed == []
    cloud.service.configure(cloud.stored(instance), {"standby": None})
    assert cloud.reconciler.reconcile().destroyed == [spare_id], "a spare nobody keeps is an orphan"
