"""Reads of a team's history: a page of its ledger lines at a time (one query, from a cursor), and its
running totals (`billing.rollups`) over days, months or all time."""

from __future__ import annotations

import base64
import binascii

from dumont_core.billing.models import LedgerEntry
from dumont_core.billing.rollups import Rollup, RollupItem, all_time_prefix, scope_range
from dumont_core.platform import table
from dumont_core.platform.dynamodb import item_type, to_model
from dumont_core.platform.errors import ValidationFailed

LedgerItem = item_type(LedgerEntry)


def encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, low: str, high: str) -> str:
    """The ledger line a page ended at, between `low` and `high`; ValidationFailed for anything else (a
    cursor not ours, or from another period)."""
    try:
        sort_key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        sort_key = ""
    if not low <= sort_key <= high:
        message = "cursor is not one this API returned"
        raise ValidationFailed(message, details={"fields": [{"field": "cursor", "message": message}]})
    return sort_key


class LedgerReads:
    def ledger_page(
        self,
        team_id: str,
        first_day: str,
        last_day: str,
        *,
        instance_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[LedgerEntry], str | None]:
        """One query's worth of the team's history from `first_day` to `last_day`, newest first, from
        `cursor` on; the cursor of the next page, None at the end. With `instance_id`, only its lines
        (so a page may hold fewer than `limit`)."""
        low, high = table.ledger_range(first_day, last_day)
        start = None
        if cursor is not None:
            start = {"PK": {"S": table.team_key(team_id)}, "SK": {"S": decode_cursor(cursor, low, high)}}
        pages = LedgerItem.query(
            table.team_key(team_id),
            LedgerItem.SK.between(low, high),
            filter_condition=None if instance_id is None else LedgerItem.instance_id == instance_id,
            scan_index_forward=False,
            page_size=limit,
            last_evaluated_key=start,
        ).page_iter
        page = next(pages)
        entries = [to_model(LedgerEntry, LedgerItem.from_raw_data(raw)) for raw in page.get("Items", [])]
        after = pages.last_evaluated_key
        return entries, None if after is None else encode_cursor(after["SK"]["S"])

    def instance_lines(
        self, team_id: str, first_day: str, last_day: str, instance_id: str
    ) -> list[LedgerEntry]:
        """The instance's lines from `first_day` to `last_day` (a filtered query)."""
        low, high = table.ledger_range(first_day, last_day)
        items = LedgerItem.query(
            table.team_key(team_id),
            LedgerItem.SK.between(low, high),
            filter_condition=LedgerItem.instance_id == instance_id,
        )
        return [to_model(LedgerEntry, item) for item in items]

    def rollups(self, team_id: str, scope: str, first: str, last: str) -> list[Rollup]:
        """The team's totals of `scope` (rollups.DAY or MONTH) from `first` to `last`, both included."""
        low, high = scope_range(scope, first, last)
        items = RollupItem.query(table.team_key(team_id), RollupItem.SK.between(low, high))
        return [to_model(Rollup, item, gb_months=0.0) for item in items]

    def all_time(self, team_id: str) -> list[Rollup]:
        """The team's totals since its first line."""
        items = RollupItem.query(table.team_key(team_id), RollupItem.SK.startswith(all_time_prefix()))
        return [to_model(Rollup, item, gb_months=0.0) for item in items]
