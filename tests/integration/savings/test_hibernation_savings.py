"""What auto-hibernation saved counts only serverless mode's hibernations for idleness, each until the
instance woke or, when it was deleted still hibernated, until it was deleted."""

from __future__ import annotations

import dataclasses

import pytest

from dumont_core.instances.models import InstanceStatus
from dumont_core.instances.steps import InstanceWorkflowSteps
from dumont_core.savings.models import Period
from dumont_core.savings.service import SavingsService
from dumont_core.serverless.ledger import HibernationLedger
from dumont_core.serverless.models import IDLE_REASON
from dumont_core.serverless.service import ServerlessService
from tests.integration.billing.conftest import build_money
from tests.integration.instances.conftest import PRINCIPAL, Cloud, ref_of
from tests.integration.serverless.conftest import cloud as cloud  # the serverless tests' fixtures
from tests.integration.serverless.conftest import serverless as serverless

IDLE = f"{IDLE_REASON} (<5%) for 15 minutes"


def hibernate(cloud: Cloud, steps: InstanceWorkflowSteps, reason: str) -> str:
    """An instance runs, then hibernates for `reason` through the workflow's step; its id."""
    instance = cloud.provision().instance
    hibernating = cloud.service.transition(
        cloud.stored(instance),
        expected=[InstanceStatus.RUNNING],
        changes={"status": InstanceStatus.HIBERNATING},
    )
    steps.complete_hibernation(ref_of(hibernating), "snap_1", reason)
    return instance.instance_id


def test_only_idle_hibernations_count_and_a_deleted_one_stops_counting_when_deleted(
    cloud: Cloud, serverless: ServerlessService
) -> None:
    steps = dataclasses.replace(cloud.steps, hibernations=HibernationLedger(repository=serverless.repository))
    savings = SavingsService(
        billing=build_money(cloud.clock).billing,
        instances=cloud.service,
        hibernations=serverless,
        clock=cloud.clock,
    )
    idle = hibernate(cloud, steps, IDLE)
    hibernate(cloud, steps, "hibernation requested")
    hibernate(cloud, steps, "balance_exhausted")
    deleted = hibernate(cloud, steps, IDLE)
    per_hour = {
        record.instance_id: record.savings_per_hour for record in serverless.hibernations(PRINCIPAL, 1)
    }

    cloud.clock.advance(hours=1)
    cloud.delete(cloud.stored(cloud.service.get(PRINCIPAL, deleted)))
    steps.destroy_machine(ref_of(cloud.service.get(PRINCIPAL, deleted)))
    cloud.clock.advance(hours=2)

    summary = savings.summary(PRINCIPAL, Period.DAY)
    assert summary.auto_hibernate_hours == pytest.approx(3 + 1, abs=1e-3), "3 h idle, 1 h until deleted"
    assert summary.auto_hibernate_savings == pytest.approx(3 * per_hour[idle] + per_hour[deleted], abs=1e-3)
    records = {record.instance_id: record for record in serverless.hibernations(PRINCIPAL, 1)}
    assert records[deleted].deleted_at is not None
    assert [record.automatic for record in records.values()].count(True) == 2
