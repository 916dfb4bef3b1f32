"""The history a page at a time, each page one read from where the last one ended, with totals over the
whole period kept as the charges land (so they cost the same to read after a year as after a day)."""

from __future__ import annotations

from datetime import date

import pytest

from dumont_core.billing.models import EntryKind, HistoryLine, HistoryPage
from dumont_core.platform.errors import ValidationFailed
from tests.integration.billing.conftest import TEAM, Money
from tests.integration.instances.conftest import PRINCIPAL


def page_of(
    money: Money,
    cursor: str | None = None,
    *,
    page: int = 1,
    per_page: int = 3,
    since: date | None = None,
    until: date | None = None,
) -> HistoryPage:
    return money.billing.history(
        PRINCIPAL, since=since, until=until, instance_id=None, per_page=per_page, cursor=cursor, page=page
    )


def every_page(money: Money, **period: date | None) -> list[list[HistoryLine]]:
    pages, cursor = [], None
    while True:
        found = page_of(money, cursor, **period)  # type: ignore[arg-type]
        pages.append(found.items)
        cursor = found.next_cursor
        if cursor is None:
            return pages


def ten_days_of_use(money: Money) -> None:
    """An instance running ten days, settled each day, and a top-up every other day."""
    money.top_up(500)
    money.cloud.provision()
    for day in range(10):
        money.cloud.clock.advance(hours=24)
        money.billing.settle_running()
        if day % 2:
            money.top_up(5)


def test_the_history_is_read_a_page_at_a_time_from_where_the_last_ended(money: Money) -> None:
    ten_days_of_use(money)

    pages = every_page(money)

    lines = [line for page in pages for line in page]
    everything = [line for line in money.repository.ledger(TEAM, "0000", "9999") if line.amount_micros]
    assert len(lines) == len(everything) > 3
    assert all(len(page) == 3 for page in pages[:-1])
    days = [line.date for line in lines]
    assert days == sorted(days, reverse=True), "newest first, across pages"
    assert {(line.kind, line.date, line.amount) for line in lines} == {
        (line.kind, line.day, line.amount_micros / 1_000_000) for line in everything
    }
    assert page_of(money, page=2).items == pages[1], "page numbers reach the same lines"


def test_the_totals_cover_the_whole_period_not_only_the_page(money: Money) -> None:
    ten_days_of_use(money)
    start = money.cloud.clock().date()
    since, until = date.fromordinal(start.toordinal() - 7), date.fromordinal(start.toordinal() - 2)

    found = page_of(money, since=since, until=until)

    period = money.repository.ledger(TEAM, since.isoformat(), until.isoformat())
    charged = sum(line.amount_micros for line in period if line.kind == EntryKind.CHARGE)
    credited = sum(line.amount_micros for line in period if line.kind == EntryKind.CREDIT)
    assert found.total_charged == pytest.approx(charged / 1_000_000, abs=1e-6)
    assert found.total_credited == pytest.approx(credited / 1_000_000, abs=1e-6)
    assert len(found.items) == 3 < len(period)
    lines = [line for page in every_page(money, since=since, until=until) for line in page]
    assert {line.date for line in lines} <= {day.isoformat() for day in (since, until)} | {
        line.day for line in period
    }
    assert sum(line.amount for line in lines if line.kind == EntryKind.CHARGE) == pytest.approx(
        found.total_charged, abs=1e-6
    )
    everything = page_of(money)
    all_charged = sum(
        line.amount_micros
        for line in money.repository.ledger(TEAM, "0000", "9999")
        if line.kind == EntryKind.CHARGE
    )
    assert everything.total_charged == pytest.approx(all_charged / 1_000_000, abs=1e-6)


def test_a_cursor_that_is_not_ours_or_from_another_period_is_refused(money: Money) -> None:
    ten_days_of_use(money)
    cursor = page_of(money).next_cursor
    assert cursor is not None
    today = money.cloud.clock().date()

    with pytest.raises(ValidationFailed):
        page_of(money, "not-a-cursor")
    with pytest.raises(ValidationFailed):
        page_of(money, cursor, since=today, until=today)
