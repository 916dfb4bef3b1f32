"""Balances, the meter's watermarks and the ledger in the single table (layout in `platform.table`).

A settlement is one transaction: the watermark moves from the version it was read at (so a retried or
concurrent settlement of the same use is refused), the day's ledger lines, their running totals
(`billing.rollups`) and the balance change by the same amount. A credit is one transaction too, guarded
by its payment's id, so a payment lands once; it sets the balance's warning flags as the new balance
stands, on the condition that they are still what they were read as.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from dumont_core.billing.ledger import LedgerItem, LedgerReads
from dumont_core.billing.models import Balance, ChargeSlice, EntryKind, LedgerEntry, MeterMark
from dumont_core.billing.rollups import Addition, updates
from dumont_core.platform import table
from dumont_core.platform.dynamodb import (
    TableItem,
    condition_failed,
    get_item,
    item_type,
    shared_connection,
    stored_value,
    to_model,
    write_refused,
)

BalanceItem = item_type(Balance)
MeterItem = item_type(MeterMark)


class PaymentItem(TableItem):
    """A payment whose credit has landed."""


class StorageTeamItem(TableItem):
    """A team whose snapshots keep bytes: settled by every round until they keep none."""

    team_id = UnicodeAttribute()


class StaleMark(Exception):
    """Another settlement of the same instance moved its watermark first."""


class CreditOutcome(StrEnum):
    LANDED = "landed"
    ALREADY_LANDED = "already_landed"
    """The payment (or credit id) had landed before."""
    RACED = "raced"
    """The balance's warning flags changed since they were read: read them again and retry."""


def _add_rollups(transaction: TransactWrite, team_id: str, additions: Sequence[Addition], at: Any) -> None:
    for item, actions in updates(team_id, additions, at):
        transaction.update(item, actions=actions)


def _balance_key(team_id: str) -> Any:
    return BalanceItem(table.team_key(team_id), table.BALANCE_RECORD)


def _unmoved(before: MeterMark) -> Condition:
    """The watermark is still where `before` read it (or, at version 0, does not exist yet)."""
    return MeterItem.PK.does_not_exist() if before.version == 0 else MeterItem.version == before.version


def _debit(transaction: TransactWrite, team_id: str, micros: int) -> None:
    """Take `micros` off the team's balance in `transaction` (nothing to write for none)."""
    if micros:
        transaction.update(
            _balance_key(team_id),
            actions=[BalanceItem.team_id.set(team_id), BalanceItem.balance_micros.add(-micros)],
        )


def _flags_as_read(before: Balance) -> Condition:
    """The balance's warning flags are still as `before` read them (absent reads as unset). The balance
    itself may have moved meanwhile: the settlement that moved it checks the flags against the balance
    it left, with conditions on the balance as it stands, after this."""
    below = BalanceItem.below_threshold == before.below_threshold
    exhausted = BalanceItem.exhausted == before.exhausted
    if not before.below_threshold:
        below = below | BalanceItem.below_threshold.does_not_exist()
    if not before.exhausted:
        exhausted = exhausted | BalanceItem.exhausted.does_not_exist()
    return below & exhausted


class BillingRepository(LedgerReads):
    # Reads -------------------------------------------------------------------------------------

    def balance(self, team_id: str) -> Balance:
        item = get_item(BalanceItem, table.team_key(team_id), table.BALANCE_RECORD, consistent=True)
        if item is None:
            return Balance(team_id=team_id)
        return to_model(
            Balance, item, team_id=team_id, balance_micros=0, below_threshold=False, exhausted=False
        )

    def mark(self, team_id: str, instance_id: str) -> MeterMark:
        item = get_item(MeterItem, table.team_key(team_id), table.meter_key(instance_id), consistent=True)
        if item is None:
            return MeterMark(team_id=team_id, instance_id=instance_id)
        # An instance's watermark holds no storage fields; the storage's, no seconds.
        return to_model(MeterMark, item, settled_seconds=0.0, accrued_usd=0.0, stored_bytes=0)

    def ledger(self, team_id: str, first_day: str, last_day: str) -> list[LedgerEntry]:
        """The team's history from `first_day` to `last_day`, newest first, in one query."""
        low, high = table.ledger_range(first_day, last_day)
        items = LedgerItem.query(
            table.team_key(team_id), LedgerItem.SK.between(low, high), scan_index_forward=False
        )
        return [to_model(LedgerEntry, item) for item in items]

    # Writes ------------------------------------------------------------------------------------

    def settle(
        self, before: MeterMark, after: MeterMark, slices: Sequence[ChargeSlice], line: LedgerEntry
    ) -> None:
        """Move the watermark from `before` to `after`, charging each slice on its day's line for the
        instance (made from `line`) and the balance. StaleMark when another settlement came first."""
        delta = after.settled_micros - before.settled_micros
        meter = MeterItem(table.team_key(before.team_id), table.meter_key(before.instance_id))
        condition = _unmoved(before)
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.update(
                    meter,
                    actions=[
                        MeterItem.team_id.set(after.team_id),
                        MeterItem.instance_id.set(after.instance_id),
                        MeterItem.settled_micros.set(after.settled_micros),
                        MeterItem.settled_seconds.set(after.settled_seconds),
                        MeterItem.settled_at.set(after.settled_at),
                        MeterItem.version.set(after.version),
                    ],
                    condition=condition,
                )
                for piece in slices:
                    transaction.update(self._line_key(line, piece.day), actions=self._charge(line, piece))
                additions = [
                    Addition(
                        kind=EntryKind.CHARGE,
                        day=piece.day,
                        micros=piece.micros,
                        seconds=piece.seconds,
                        gpu_type=line.gpu_type,
                        num_gpus=line.num_gpus,
                        price_per_hour=line.price_per_hour,
                    )
                    for piece in slices
                ]
                _add_rollups(transaction, before.team_id, additions, line.updated_at)
                _debit(transaction, before.team_id, delta)
        except TransactWriteError as error:
            if condition_failed(error):
                raise StaleMark(before.instance_id) from error
            raise

    def storing_teams(self) -> list[str]:
        return [item.team_id for item in StorageTeamItem.query(table.STORAGE_TEAMS_PARTITION)]

    def settle_storage(
        self, before: MeterMark, after: MeterMark, line: LedgerEntry, *, storing: bool
    ) -> None:
        """Move the team's storage watermark from `before` to `after`, charging the difference on the day's
        storage line and the balance; the team stays in (or leaves) the teams settled every round.
        StaleMark when another settlement came first."""
        delta = after.settled_micros - before.settled_micros
        meter = MeterItem(table.team_key(before.team_id), table.meter_key(table.STORAGE_METER))
        condition = _unmoved(before)
        member = StorageTeamItem(table.STORAGE_TEAMS_PARTITION, before.team_id, team_id=before.team_id)
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.update(
                    meter,
                    actions=[
                        MeterItem.team_id.set(after.team_id),
                        MeterItem.instance_id.set(after.instance_id),
                        MeterItem.settled_micros.set(after.settled_micros),
                        MeterItem.accrued_usd.set(after.accrued_usd),
                        MeterItem.stored_bytes.set(after.stored_bytes),
                        MeterItem.settled_at.set(after.settled_at),
                        MeterItem.version.set(after.version),
                    ],
                    condition=condition,
                )
                transaction.update(
                    self._line_key(line, line.day),
                    actions=[
                        LedgerItem.team_id.set(line.team_id),
                        LedgerItem.kind.set(line.kind.value),
                        LedgerItem.day.set(line.day),
                        LedgerItem.entry_id.set(line.entry_id),
                        LedgerItem.updated_at.set(line.updated_at),
                        LedgerItem.amount_micros.add(delta),
                        LedgerItem.seconds.add(line.seconds),
                        LedgerItem.gb_months.add(line.gb_months or 0.0),
                        LedgerItem.price_per_gb_month.set(line.price_per_gb_month),
                    ],
                )
                stored = Addition(
                    kind=EntryKind.STORAGE,
                    day=line.day,
                    micros=delta,
                    seconds=line.seconds,
                    gb_months=line.gb_months or 0.0,
                )
                _add_rollups(transaction, before.team_id, [stored], line.updated_at)
                _debit(transaction, before.team_id, delta)
                if storing:
                    transaction.save(member)
                else:
                    transaction.delete(member)
        except TransactWriteError as error:
            if condition_failed(error):
                raise StaleMark(before.instance_id) from error
            raise

    def credit(
        self, entry: LedgerEntry, before: Balance | None = None, threshold_micros: int = 0
    ) -> CreditOutcome:
        """Add a credit to the team's balance and history, once per payment (or credit id). With `before`
        (the balance as read), the warning flags are set as the new balance stands, in the same write, on
        the condition that the flags are still as read: RACED when they are not."""
        guard = PaymentItem(
            table.team_key(entry.team_id), table.payment_key(entry.payment_id or entry.entry_id)
        )
        values = {
            name: stored_value(value) for name, value in entry.model_dump().items() if value is not None
        }
        line = LedgerItem(table.team_key(entry.team_id), self._sort_key(entry, entry.day), **values)
        actions = [
            BalanceItem.team_id.set(entry.team_id),
            BalanceItem.balance_micros.add(entry.amount_micros),
        ]
        condition = None
        if before is not None:
            after = before.balance_micros + entry.amount_micros
            actions += [
                BalanceItem.below_threshold.set(after < threshold_micros),
                BalanceItem.exhausted.set(after <= 0),
            ]
            condition = _flags_as_read(before)
        added = Addition(kind=EntryKind.CREDIT, day=entry.day, micros=entry.amount_micros)
        try:
            with TransactWrite(connection=shared_connection()) as transaction:
                transaction.save(guard, condition=PaymentItem.PK.does_not_exist())
                transaction.save(line)
                _add_rollups(transaction, entry.team_id, [added], entry.updated_at)
                transaction.update(_balance_key(entry.team_id), actions=actions, condition=condition)
        except TransactWriteError as error:
            if not condition_failed(error):
                raise
            [guarded, *_] = error.cancellation_reasons
            if guarded is not None and guarded.code == "ConditionalCheckFailed":
                return CreditOutcome.ALREADY_LANDED
            return CreditOutcome.RACED
        return CreditOutcome.LANDED

    def mark_below(self, team_id: str, threshold_micros: int) -> bool:
        """Note that the balance is under `threshold_micros`, unless already noted; whether this did."""
        unnoted = BalanceItem.below_threshold.does_not_exist() | (BalanceItem.below_threshold == False)  # noqa: E712
        return self._set_flag(
            team_id, "below_threshold", True, unnoted & (BalanceItem.balance_micros < threshold_micros)
        )

    def clear_below(self, team_id: str, threshold_micros: int) -> bool:
        """Forget the note once the balance is back at `threshold_micros` or over; whether this did."""
        noted = BalanceItem.below_threshold == True  # noqa: E712
        return self._set_flag(
            team_id, "below_threshold", False, noted & (BalanceItem.balance_micros >= threshold_micros)
        )

    def mark_exhausted(self, team_id: str) -> bool:
        unnoted = BalanceItem.exhausted.does_not_exist() | (BalanceItem.exhausted == False)  # noqa: E712
        return self._set_flag(team_id, "exhausted", True, unnoted & (BalanceItem.balance_micros <= 0))

    def clear_exhausted(self, team_id: str) -> bool:
        noted = BalanceItem.exhausted == True  # noqa: E712
        return self._set_flag(team_id, "exhausted", False, noted & (BalanceItem.balance_micros > 0))

    def _set_flag(self, team_id: str, flag: str, value: bool, condition: Condition) -> bool:
        try:
            _balance_key(team_id).update(
                actions=[getattr(BalanceItem, flag).set(value)], condition=BalanceItem.PK.exists() & condition
            )
        except UpdateError as error:
            if write_refused(error):
                return False
            raise
        return True

    def set_threshold(self, team_id: str, threshold_micros: int | None) -> None:
        attribute = BalanceItem.low_threshold_micros
        action = attribute.remove() if threshold_micros is None else attribute.set(threshold_micros)
        _balance_key(team_id).update(actions=[BalanceItem.team_id.set(team_id), action])

    # Mapping -----------------------------------------------------------------------------------

    @staticmethod
    def _sort_key(entry: LedgerEntry, day: str) -> str:
        return table.ledger_key(day, entry.kind.value, entry.entry_id)

    def _line_key(self, line: LedgerEntry, day: str) -> Any:
        return LedgerItem(table.team_key(line.team_id), self._sort_key(line, day))

    @staticmethod
    def _charge(line: LedgerEntry, piece: ChargeSlice) -> list[Any]:
        assert line.kind == EntryKind.CHARGE
        actions = [
            LedgerItem.team_id.set(line.team_id),
            LedgerItem.kind.set(line.kind.value),
            LedgerItem.day.set(piece.day),
            LedgerItem.entry_id.set(line.entry_id),
            LedgerItem.instance_id.set(line.instance_id),
            LedgerItem.updated_at.set(line.updated_at),
            LedgerItem.amount_micros.add(piece.micros),
            LedgerItem.seconds.add(piece.seconds),
        ]
        if line.gpu_type is not None:
            actions.append(LedgerItem.gpu_type.set(line.gpu_type))
        if line.num_gpus is not None:
            actions.append(LedgerItem.num_gpus.set(line.num_gpus))
        if line.price_per_hour is not None:
            actions.append(LedgerItem.price_per_hour.set(line.price_per_hour))
        if line.description is not None:
            actions.append(LedgerItem.description.set(line.description))
        return actions
