"""Running totals of a team's history, kept beside its ledger lines so that totals and dashboards read a
bounded number of items however long the history grows.

Every charge, storage charge and credit adds to three totals in the transaction that writes its line:
the day's, the month's and all time's, each per kind and, for charges, per GPU type and GPU count (what
the hyperscalers' equivalents are priced by). A team has at most a few such totals a day, so a year of
them is read in one query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from dumont_core.billing.models import EntryKind
from dumont_core.platform import table
from dumont_core.platform.dynamodb import item_type
from dumont_core.platform.models import DomainModel

ALL_TIME = "ALL"
DAY = "D"
MONTH = "M"
NO_GPU = "-"


class Rollup(DomainModel):
    """What a team's lines of one kind (and GPU) add up to over a day, a month or all time."""

    team_id: str
    scope: str
    """`D#{day}`, `M#{month}` or `ALL`."""
    kind: EntryKind
    gpu_type: str | None = None
    num_gpus: int | None = None
    amount_micros: int = 0
    seconds: float = 0.0
    gb_months: float = 0.0
    price_per_hour: float | None = None
    """Charges: what the team last paid an hour for such a machine (margin included)."""
    updated_at: datetime | None = None


RollupItem = item_type(Rollup)


class Addition(BaseModel):
    """What one line adds to its totals."""

    kind: EntryKind
    day: str
    micros: int
    seconds: float = 0.0
    gb_months: float = 0.0
    gpu_type: str | None = None
    num_gpus: int | None = None
    price_per_hour: float | None = None


def rollup_key(scope: str, kind: EntryKind, gpu_type: str | None, num_gpus: int | None) -> str:
    return table.key("ROLLUP", scope, kind.value, gpu_type or NO_GPU, num_gpus or 0)


def day_scope(day: str) -> str:
    return table.key(DAY, day)


def month_scope(day: str) -> str:
    return table.key(MONTH, day[:7])


def scope_range(scope: str, first: str, last: str) -> tuple[str, str]:
    """The sort keys bounding every total of `scope` (DAY or MONTH) from the day (or month) `first` to
    `last`, both included."""
    if scope == MONTH:
        first, last = first[:7], last[:7]
    return table.key("ROLLUP", scope, first), table.key("ROLLUP", scope, last, "~")


def all_time_prefix() -> str:
    return table.key("ROLLUP", ALL_TIME, "")


def updates(team_id: str, additions: Iterable[Addition], at: datetime) -> list[tuple[Any, list[Any]]]:
    """The items to update, and how, for `additions`: each day's, month's and all time's totals, one
    update per item (a transaction may not touch an item twice)."""
    merged: dict[tuple[str, EntryKind, str | None, int | None], list[Addition]] = defaultdict(list)
    for addition in additions:
        for scope in (day_scope(addition.day), month_scope(addition.day), ALL_TIME):
            merged[(scope, addition.kind, addition.gpu_type, addition.num_gpus)].append(addition)
    result = []
    for (scope, kind, gpu_type, num_gpus), parts in merged.items():
        item = RollupItem(table.team_key(team_id), rollup_key(scope, kind, gpu_type, num_gpus))
        actions = [
            RollupItem.team_id.set(team_id),
            RollupItem.scope.set(scope),
            RollupItem.kind.set(kind.value),
            RollupItem.updated_at.set(at),
            RollupItem.amount_micros.add(sum(part.micros for part in parts)),
            RollupItem.seconds.add(sum(part.seconds for part in parts)),
        ]
        gb_months = sum(part.gb_months for part in parts)
        if gb_months:
            actions.append(RollupItem.gb_months.add(gb_months))
        if gpu_type is not None:
            actions.append(RollupItem.gpu_type.set(gpu_type))
        if num_gpus is not None:
            actions.append(RollupItem.num_gpus.set(num_gpus))
        price = parts[-1].price_per_hour
        if price is not None:
            actions.append(RollupItem.price_per_hour.set(price))
        result.append((item, actions))
    return result
