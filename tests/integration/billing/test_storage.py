"""Snapshot storage charged per GB-month by the same settlement as machine time: from the bytes the
snapshots service says a team keeps, once per second kept however often it is settled, on a history line
of its own, until the team keeps nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dumont_core.billing.models import EntryKind
from dumont_core.billing.repository import StorageTeamItem
from dumont_core.instances.models import MACHINE_GONE, InstanceStatus
from dumont_core.platform import table
from dumont_core.snapshots.models import Snapshot
from dumont_core.snapshots.repository import SnapshotRepository
from dumont_core.snapshots.service import SnapshotService
from dumont_core.snapshots.store import SnapshotStore
from tests.integration.billing.conftest import TEAM, Money
from tests.integration.instances.conftest import PRINCIPAL

GIB = 2**30


class KeptBytes:
    """Stands in for the snapshots service: what the team's snapshots keep now."""

    def __init__(self) -> None:
        self.bytes = 0

    def stored_bytes(self, team_id: str) -> int:
        assert team_id == TEAM
        return self.bytes


def storage_lines(money: Money) -> list[object]:
    page = money.billing.history(PRINCIPAL, since=None, until=None, instance_id=None, page=1, per_page=100)
    return [line for line in page.items if line.kind == EntryKind.STORAGE]


def test_snapshot_storage_is_charged_per_gb_month_once_and_until_it_is_gone(money: Money) -> None:
    kept = KeptBytes()
    billing = replace(money.billing, storage=kept)
    money.top_up(10)
    provisioned = money.cloud.provision()
    kept.bytes = 10 * GIB  # it hibernates: its workspace is kept in S3
    instance = money.cloud.stored(provisioned.instance)
    money.cloud.service.transition(
        instance,
        expected=[InstanceStatus.RUNNING],
        changes={
            "status": InstanceStatus.HIBERNATED,
            "provider_instance_id": None,
            **instance.billing_stopped_at(money.cloud.clock()),
            **MACHINE_GONE,
        },
    )
    billing.settle_running()  # the hibernation is settled, and the storage starts being metered
    after_machine = money.balance()
    assert [item.team_id for item in StorageTeamItem.query(table.STORAGE_TEAMS_PARTITION)] == [TEAM]

    money.cloud.clock.advance(hours=73)  # a tenth of a month: 10 GiB x 0.1 month x $0.023
    billing.settle_running()  # no instance runs: the team is settled because it keeps bytes
    billing.settle_running()  # a replay at the same moment charges nothing more

    assert money.balance() == pytest.approx(after_machine - 0.023, abs=1e-6)
    [line] = storage_lines(money)
    assert line.amount == pytest.approx(0.023, abs=1e-6)
    assert line.gb_months == pytest.approx(1.0)
    assert line.price_per_gb_month == 0.023
    assert line.instance_id is None and line.hours is None

    kept.bytes = 0  # the snapshot is deleted; the hour before the next round is still charged
    money.cloud.clock.advance(hours=1)
    billing.settle_running()
    money.cloud.clock.advance(hours=100)
    billing.settle_running()

    charged = sum(line.amount for line in storage_lines(money))
    assert charged == pytest.approx(0.023 * 74 / 73, abs=2e-6)
    assert money.balance() == pytest.approx(after_machine - charged, abs=1e-6)
    assert list(StorageTeamItem.query(table.STORAGE_TEAMS_PARTITION)) == [], "keeps nothing: not settled"


def test_a_small_workspace_is_charged_to_the_micro_dollar_over_many_rounds(money: Money) -> None:
    """A 1 GiB workspace costs half a micro-dollar a minute: rounding each round would charge nothing."""
    money.top_up(1)
    money.meter.settle_storage(TEAM, PRINCIPAL.account_id, GIB)
    for _ in range(120):  # two hours, a round a minute
        money.cloud.clock.advance(minutes=1)
        money.meter.settle_storage(TEAM, PRINCIPAL.account_id, GIB)

    owed = 0.023 * 2 / 730  # 63.01 micro-dollars
    assert 1 - money.balance() == pytest.approx(owed, abs=1.01e-6)


def test_the_snapshots_service_counts_what_completed_snapshots_keep(money: Money) -> None:
    snapshots = SnapshotRepository()
    now = money.cloud.clock()
    for number, (status, stored) in enumerate(
        [("completed", 3 * GIB), ("completed", GIB), ("uploading", GIB)]
    ):
        snapshots.create(
            Snapshot(
                snapshot_id=f"snap_{number}",
                instance_id="inst_1",
                account_id=PRINCIPAL.account_id,
                team_id=TEAM,
                compression="lz4",
                purpose="hibernate",
                status=status,
                stored_bytes=stored,
                created_at=now,
                updated_at=now,
            )
        )
    service = SnapshotService(
        instances=money.cloud.service,
        snapshots=snapshots,
        store=SnapshotStore("unused"),
        workflows=money.cloud.starter,
        clock=money.cloud.clock,
    )

    assert service.stored_bytes(TEAM) == 4 * GIB, "a snapshot still uploading is not charged yet"
    assert service.stored_bytes("team_other") == 0
