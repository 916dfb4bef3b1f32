"""The hibernation history (`/api/metrics/hibernation/events`): the team's hibernations of the last days,
newest first, each with what it saved so far: its hourly price times the hours it stayed hibernated."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dumont_core.serverless.models import Hibernation, HibernationRecord
from dumont_core.serverless.service import ServerlessService
from tests.fakes.clock import START
from tests.integration.instances.conftest import PRINCIPAL, Cloud


def hibernated(
    serverless: ServerlessService,
    instance_id: str,
    at: datetime,
    savings_per_hour: float,
    woke_at: datetime | None = None,
    team_id: str = PRINCIPAL.team_id,
) -> None:
    hibernation = Hibernation(
        team_id=team_id,
        instance_id=instance_id,
        hibernated_at=at,
        reason=f"Low GPU utilization (<5%) for 15 minutes ({instance_id})",
        savings_per_hour=savings_per_hour,
        snapshot_id=f"snap_{instance_id}",
    )
    serverless.repository.record_hibernation(hibernation)
    if woke_at is not None:
        serverless.repository.record_wake(team_id, instance_id, at, woke_at)


def record(
    instance_id: str, at: datetime, savings_per_hour: float, saved: float, woke_at: datetime | None = None
) -> HibernationRecord:
    return HibernationRecord(
        instance_id=instance_id,
        timestamp=at,
        reason=f"Low GPU utilization (<5%) for 15 minutes ({instance_id})",
        savings_per_hour=savings_per_hour,
        woke_at=woke_at,
        automatic=True,
        saved=saved,
    )


@pytest.fixture
def history(cloud: Cloud, serverless: ServerlessService) -> ServerlessService:
    """Four hibernations of the team over three days, and one of another team's; now is START."""
    assert cloud.clock() == START
    hibernated(serverless, "inst_woken", START - timedelta(hours=3), 0.5, woke_at=START - timedelta(hours=1))
    hibernated(serverless, "inst_asleep", START - timedelta(minutes=30), 0.123456)
    hibernated(serverless, "inst_just_now", START, 0.3)
    hibernated(
        serverless, "inst_days_ago", START - timedelta(days=2), 0.25, woke_at=START - timedelta(days=1)
    )
    hibernated(serverless, "inst_other_team", START - timedelta(minutes=5), 9.0, team_id="team_other")
    return serverless


def test_the_last_day_shows_the_teams_hibernations_newest_first_with_what_each_saved(
    history: ServerlessService,
) -> None:
    assert history.hibernations(PRINCIPAL, days=1) == [
        record("inst_just_now", START, 0.3, saved=0.0),
        record("inst_asleep", START - timedelta(minutes=30), 0.123456, saved=0.0617),  # half an hour so far
        record("inst_woken", START - timedelta(hours=3), 0.5, saved=1.0, woke_at=START - timedelta(hours=1)),
    ]


def test_more_days_reach_further_back(history: ServerlessService) -> None:
    records = history.hibernations(PRINCIPAL, days=3)

    assert [each.instance_id for each in records] == [
        "inst_just_now",
        "inst_asleep",
        "inst_woken",
        "inst_days_ago",
    ]
    assert records[-1].saved == 6.0, "a day hibernated at 0.25 an hour"


def test_a_hibernation_still_going_saves_more_as_time_passes(
    cloud: Cloud, history: ServerlessService
) -> None:
    cloud.clock.advance(hours=2)

    by_instance = {each.instance_id: each.saved for each in history.hibernations(PRINCIPAL, days=1)}

    assert by_instance == {"inst_just_now": 0.6, "inst_asleep": 0.3086, "inst_woken": 1.0}


def test_a_hibernation_recorded_by_a_clock_running_ahead_has_saved_nothing_yet(
    cloud: Cloud, serverless: ServerlessService
) -> None:
    hibernated(serverless, "inst_ahead", START + timedelta(minutes=2), 0.5)

    [ahead] = serverless.hibernations(PRINCIPAL, days=1)

    assert ahead.saved == 0.0
