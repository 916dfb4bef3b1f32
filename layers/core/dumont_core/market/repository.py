"""The market's prices in the single table (layout in `platform.table`): a point per collection, GPU
type and provider (kept a week), an hourly rollup of them (kept a year), a daily rollup per GPU type of
every provider's hours (kept a year and a day), the latest point of each, and how far the rollups have
got.

A collection is one TransactWrite of its points and the latest prices. History is read by Query: up to
a day of points, up to a month of hourly rollups (an item is about 2 KB a provider, so a month is two
pages), and a year of daily rollups (one page).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import JSONAttribute, TTLAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from dumont_core.market.models import PricePoint
from dumont_core.platform import table
from dumont_core.platform.dynamodb import (
    TableItem,
    condition_failed,
    get_item,
    item_type,
    shared_connection,
    to_model,
    write_refused,
)

_TRANSACTION_ITEMS = 100

PricePointItem = item_type(PricePoint, slices=JSONAttribute(default=list), expires_at=TTLAttribute(null=True))


class MarketHourItem(TableItem):
    medians = JSONAttribute()
    """GPU type -> its median on-demand price per GPU-hour over all regions and providers that hour."""
    expires_at = TTLAttribute()


class RollupMarkItem(TableItem):
    through = UTCDateTimeAttribute()
    """The last hour whose rollups are written."""


def _stored(point: PricePoint, partition: str, sort: str, expires: datetime | None) -> Any:
    values = point.model_dump()
    values["slices"] = [item.model_dump(mode="json") for item in point.slices]
    return PricePointItem(partition, sort, expires_at=expires, **values)


def day_of(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _latest(point: PricePoint) -> Any:
    return _stored(
        point, table.MARKET_PARTITION, table.latest_prices_key(point.gpu_type, point.provider), None
    )


class MarketRepository:
    def __init__(self, *, point_retention: timedelta, rollup_retention: timedelta) -> None:
        self._point_retention = point_retention
        self._rollup_retention = rollup_retention

    def record(self, points: Sequence[PricePoint]) -> None:
        """Keep a collection's points and, for those that are not gaps, make them the latest prices. A
        point already kept is left as it is, and the latest prices never go back in time."""
        items: list[tuple[Any, Any]] = []
        for point in points:
            item = _stored(
                point,
                table.market_key(point.gpu_type),
                table.price_point_key(point.at, point.provider),
                point.at + self._point_retention,
            )
            items.append((item, PricePointItem.PK.does_not_exist()))
            if point.gap is None:
                latest = _latest(point)
                items.append((latest, PricePointItem.PK.does_not_exist() | (PricePointItem.at < point.at)))
        self._save_all(items)

    def points(self, gpu_type: str, since: datetime, until: datetime) -> list[PricePoint]:
        """The points of a GPU type collected between `since` and `until`, oldest first."""
        sort = PricePointItem.SK.between(table.price_point_key(since, ""), table.price_point_key(until, "~"))
        return [to_model(PricePoint, item) for item in PricePointItem.query(table.market_key(gpu_type), sort)]

    def hours(self, gpu_type: str, since: datetime, until: datetime) -> list[PricePoint]:
        """The hourly rollups of a GPU type from the hour of `since` to that of `until`, oldest first."""
        sort = PricePointItem.SK.between(table.price_hour_key(since, ""), table.price_hour_key(until, "~"))
        return [to_model(PricePoint, item) for item in PricePointItem.query(table.market_key(gpu_type), sort)]

    def days(self, gpu_type: str, since: datetime, until: datetime) -> list[PricePoint]:
        """The daily rollups of a GPU type from the day of `since` to that of `until`, oldest first."""
        sort = PricePointItem.SK.between(table.price_day_key(day_of(since)), table.price_day_key(until))
        return [to_model(PricePoint, item) for item in PricePointItem.query(table.market_key(gpu_type), sort)]

    def record_days(self, days: Sequence[PricePoint]) -> None:
        """Keep daily rollups made elsewhere than in `record_rollups` (a back-fill): a day rolled up again
        replaces its rollup, which is made from the same hours."""
        with PricePointItem.batch_write() as batch:
            for day in days:
                batch.save(self._day(day))

    def latest(self) -> list[PricePoint]:
        """The latest prices of every GPU type at every provider."""
        items = PricePointItem.query(
            table.MARKET_PARTITION, PricePointItem.SK.startswith(table.LATEST_PRICES_PREFIX)
        )
        return [to_model(PricePoint, item) for item in items]

    def rolled_up_through(self) -> datetime | None:
        mark = get_item(RollupMarkItem, table.MARKET_PARTITION, table.MARKET_ROLLUP_MARK, consistent=True)
        return mark.through if mark is not None else None

    def market_hour(self, hour: datetime) -> dict[str, float]:
        """Every GPU type's median price in `hour`, from its rollups; empty when none were made."""
        item = get_item(MarketHourItem, table.MARKET_PARTITION, table.market_hour_key(hour))
        return dict(item.medians) if item is not None else {}

    def record_rollups(
        self,
        rollups: Iterable[PricePoint],
        through: datetime,
        previous: datetime | None,
        days: Sequence[PricePoint] = (),
    ) -> bool:
        """Keep the hourly rollups up to the hour `through` (and the rollups of the days it ends) and mark
        it, unless another run moved the mark from `previous` first (then nothing is written, and False is
        answered)."""
        mark = RollupMarkItem(table.MARKET_PARTITION, table.MARKET_ROLLUP_MARK, through=through)
        unmoved = (
            RollupMarkItem.PK.does_not_exist() if previous is None else RollupMarkItem.through == previous
        )
        rollups = list(rollups)
        medians = {
            rollup.gpu_type: found.on_demand.median
            for rollup in rollups
            if (found := rollup.slice()) is not None and found.on_demand is not None
        }
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.save(mark, condition=unmoved)
                if medians:
                    hour = MarketHourItem(
                        table.MARKET_PARTITION,
                        table.market_hour_key(through),
                        medians=medians,
                        expires_at=through + self._rollup_retention,
                    )
                    transaction.save(hour)
                for rollup in rollups:
                    item = _stored(
                        rollup,
                        table.market_key(rollup.gpu_type),
                        table.price_hour_key(rollup.at, rollup.provider),
                        rollup.at + self._rollup_retention,
                    )
                    transaction.save(item)
                for day in days:
                    transaction.save(self._day(day))
        except TransactWriteError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def _day(self, day: PricePoint) -> Any:
        # A year and a day, so that the oldest day of a year's history is still there.
        expires = day.at + self._rollup_retention + timedelta(days=1)
        return _stored(day, table.market_key(day.gpu_type), table.price_day_key(day.at), expires)

    def _save_all(self, items: list[tuple[Any, Any]]) -> None:
        for start in range(0, len(items), _TRANSACTION_ITEMS):
            batch = items[start : start + _TRANSACTION_ITEMS]
            try:
                with TransactWrite(connection=shared_connection()) as transaction:
                    for item, condition in batch:
                        transaction.save(item, condition=condition)
            except TransactWriteError as error:
                if not condition_failed(error):
                    raise
                # Something in the batch was kept already (a repeated run) or is older than the latest:
                # keep the rest one by one.
                for item, condition in batch:
                    _save_unless_refused(item, condition)


def _save_unless_refused(item: Any, condition: Any) -> None:
    try:
        item.save(condition=condition)
    except PutError as error:
        if not write_refused(error):
            raise
