"""Setting failover up, reading where it stands, and drills, over the real instance service (moto)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from dumont_core.failover.models import history_of
from dumont_core.failover.service import FailoverService
from dumont_core.instances.models import EventType, Instance, InstanceEvent, InstanceStatus
from dumont_core.platform.errors import Conflict, InvalidState
from tests.integration.instances.conftest import PRINCIPAL, Cloud, Provisioned


@dataclass
class RecordingRecovery:
    """Stands in for the snapshots domain: remembers what it was asked to bring back."""

    asked: list[Instance] = field(default_factory=list)

    def recover(self, instance: Instance) -> Instance | None:
        self.asked.append(instance)
        return None


@pytest.fixture
def recovery() -> RecordingRecovery:
    return RecordingRecovery()


@pytest.fixture
def failover(cloud: Cloud, recovery: RecordingRecovery) -> FailoverService:
    return FailoverService(instances=cloud.service, recovery=recovery, clock=cloud.clock)


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
    recovery: RecordingRecovery,
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
    cloud: Cloud, failover: FailoverService, recovery: RecordingRecovery
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
            event(EventType.INTERRUPTED, 1, gpu="RTX 4090", reason="spot_preemption"),
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
