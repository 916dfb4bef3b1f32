"""The composition root makes every service once, from the environment, and lets a test replace one."""

from __future__ import annotations

import pytest

from dumont_core import composition
from dumont_core.platform.dynamodb import bind_table, bound_table
from dumont_core.platform.settings import HousekeepingSettings, load_settings
from tests.unit.platform.conftest import API_ENVIRONMENT


@pytest.mark.usefixtures("api_environment")
def test_each_service_is_made_once_and_shares_what_it_stands_on() -> None:
    assert composition.instances() is composition.instances()
    assert composition.snapshots().instances is composition.instances()
    assert composition.serverless().snapshots is composition.snapshots()
    assert composition.agents().instances is composition.instances()
    assert composition.teams().seats is composition.access().seats


@pytest.mark.usefixtures("api_environment")
def test_a_test_can_put_a_service_of_its_own_in_place() -> None:
    replacement = object()
    with composition.overridden(snapshots=replacement):
        assert composition.snapshots() is replacement
    assert composition.snapshots() is not replacement
    with (
        pytest.raises(KeyError, match="no such service: snapshot"),
        composition.overridden(snapshot=replacement),
    ):
        pass


@pytest.mark.usefixtures("api_environment")
def test_the_table_is_bound_before_any_repository_is_made_whatever_was_put_in_place() -> None:
    bind_table("unbound")
    with composition.overridden(instances=object()):
        composition.snapshots()
    assert bound_table() == API_ENVIRONMENT["TABLE_NAME"]


@pytest.mark.usefixtures("api_environment")
def test_reset_reads_the_environment_again(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(HousekeepingSettings).snapshot_bucket == "dumont-snapshots"
    monkeypatch.setenv("SNAPSHOT_BUCKET", "another-bucket")
    assert composition.snapshot_store() is composition.snapshot_store()
    composition.reset()
    assert load_settings(HousekeepingSettings).snapshot_bucket == "another-bucket"
