"""The meter: what an instance's use has cost, charged to its team's balance and history.

An instance records what it ran at and for how long (`billed_seconds`, `closed_cost`, the interval in
progress), and a machine that died is billed only until it was last alive. The meter charges the
difference between what that comes to now (with the platform's margin) and what it already charged,
its watermark, moved by a conditional write. A settlement repeated, replayed or raced by another
therefore never charges twice, and, since it always charges up to the whole amount, never skips a
second; a machine later found to have died before the last settlement is refunded the difference.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from dumont_core.billing.models import (
    Balance,
    BillingEvent,
    BillingEventType,
    ChargeSlice,
    CreditSource,
    EntryKind,
    LedgerEntry,
    to_micros,
    to_usd,
)
from dumont_core.billing.repository import BillingRepository, CreditOutcome, StaleMark
from dumont_core.instances.charges import STANDBY_LINE, standby_cost_at, standby_seconds_at
from dumont_core.instances.models import Instance
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import InsufficientBalance
from dumont_core.platform.events import EventPublisher
from dumont_core.platform.settings import BillingSettings
from dumont_core.platform.table import STORAGE_METER

logger = Logger(child=True)

SETTLE_ATTEMPTS = 3
GB = 2**30
"""Bytes in a GB, as S3 counts them for its prices."""
MONTH_SECONDS = 730 * 3600
"""A month of storage, as AWS prices by the hour."""
MAX_DAY_SLICES = 31
"""Days a settlement is spread over at most; what falls before goes on its first day."""


class ConcurrentCharges(Exception):
    """The team's warnings kept changing while a credit was landing; the payment may be credited again."""


def day_of(at: datetime) -> str:
    return at.date().isoformat()


def owed(instance: Instance, at: datetime, margin: float) -> tuple[int, float]:
    """What the instance's use comes to at `at`, margin included, in micro-dollars, and its seconds."""
    return to_micros(instance.cost_at(at) * (1 + margin)), instance.billed_seconds_at(at)


def standby_owed(instance: Instance, at: datetime, margin: float) -> tuple[int, float]:
    """What the instance's standbys have cost at `at`, margin included, in micro-dollars, and seconds."""
    return to_micros(standby_cost_at(instance, at) * (1 + margin)), standby_seconds_at(instance, at)


@dataclass(frozen=True)
class Metered:
    """One thing an instance is charged for on a line of its own: what it comes to, and its open interval."""

    meter_id: str
    micros: int
    seconds: float
    open_since: datetime | None
    hourly: float
    """The price of the open interval, margin included."""
    line: LedgerEntry


def day_slices(
    metered: Metered, since: datetime, at: datetime, micros: int, seconds: float
) -> list[ChargeSlice]:
    """`micros` and `seconds`, charged for the window from `since` to `at`, by day: the part of the interval
    in progress on each of its days, and the rest (the end of an interval closed meanwhile, rounding) on
    the window's first day. A refund goes on the day of the settlement it corrects."""
    if micros < 0 or seconds < 0 or day_of(since) == day_of(at):
        return [ChargeSlice(day=day_of(since), micros=micros, seconds=seconds)]
    per_day: dict[str, tuple[int, float]] = {}
    if metered.open_since is not None:
        rate = metered.hourly / 3600
        start = max(since, metered.open_since, at - timedelta(days=MAX_DAY_SLICES - 1))
        while start < at:
            midnight = datetime.combine(start.date() + timedelta(days=1), datetime.min.time(), start.tzinfo)
            end = min(midnight, at)
            span = (end - start).total_seconds()
            per_day[day_of(start)] = (to_micros(rate * span), span)
            start = end
    first = day_of(since)
    rest_micros = micros - sum(piece[0] for piece in per_day.values())
    rest_seconds = seconds - sum(piece[1] for piece in per_day.values())
    known = per_day.get(first, (0, 0.0))
    per_day[first] = (known[0] + rest_micros, known[1] + rest_seconds)
    return [ChargeSlice(day=day, micros=value[0], seconds=value[1]) for day, value in sorted(per_day.items())]


@dataclass(frozen=True, kw_only=True)
class Meter:
    repository: BillingRepository
    publisher: EventPublisher
    margin: float = 0.0
    low_threshold_usd: float = 10.0
    trial_credit_usd: float = 0.0
    storage_price_per_gb_month: float = 0.023
    clock: Clock = field(default=utc_now)

    @classmethod
    def of(
        cls, settings: BillingSettings, *, repository: BillingRepository, publisher: EventPublisher
    ) -> Meter:
        return cls(
            repository=repository,
            publisher=publisher,
            margin=settings.platform_margin,
            low_threshold_usd=settings.low_balance_threshold_usd,
            trial_credit_usd=settings.trial_credit_usd,
            storage_price_per_gb_month=settings.storage_price_per_gb_month,
        )

    def settle(self, instance: Instance) -> int:
        """Charge the instance's use up to now, and its standbys' on a line of their own; what this charged
        (negative: refunded), in micro-dollars."""
        at = self.clock()
        charged = self._settle(instance, self._machine(instance, at), at)
        if instance.standby_billed_since is not None or instance.standby_closed_cost:
            charged += self._settle(instance, self._standby(instance, at), at)
        return charged

    def _settle(self, instance: Instance, metered: Metered, at: datetime) -> int:
        for _ in range(SETTLE_ATTEMPTS):
            mark = self.repository.mark(instance.team_id, metered.meter_id)
            delta = metered.micros - mark.settled_micros
            if delta == 0 and abs(metered.seconds - mark.settled_seconds) < 1e-6:
                return 0
            after = mark.model_copy(
                update={
                    "settled_micros": metered.micros,
                    "settled_seconds": metered.seconds,
                    "settled_at": at,
                    "version": mark.version + 1,
                }
            )
            since = min(mark.settled_at or metered.open_since or at, at)
            slices = day_slices(metered, since, at, delta, metered.seconds - mark.settled_seconds)
            try:
                self.repository.settle(mark, after, slices, metered.line)
            except StaleMark:
                continue  # settled meanwhile by someone else: read the watermark again
            self.check_balance(instance.team_id, instance.account_id)
            return delta
        logger.warning("Could not settle an instance's charges", extra={"instance_id": instance.instance_id})
        return 0

    def settle_storage(self, team_id: str, account_id: str, stored_bytes: int) -> int:
        """Charge the bytes the team's snapshots keep, `stored_bytes` now, for the time since its storage
        was last settled; what this charged, in micro-dollars. The cost accrues unrounded on the
        watermark, and what is charged is its whole micro-dollars, so a minute of a small workspace is
        never lost to rounding; a retried or raced settlement charges each second once."""
        at = self.clock()
        for _ in range(SETTLE_ATTEMPTS):
            mark = self.repository.mark(team_id, STORAGE_METER)
            if not stored_bytes and not mark.stored_bytes:
                return 0  # kept nothing since the last settlement, and keeps nothing now
            # The window since the last settlement is charged at the bytes kept when it began.
            seconds = max((at - (mark.settled_at or at)).total_seconds(), 0.0) if mark.stored_bytes else 0.0
            gb_months = mark.stored_bytes / GB * seconds / MONTH_SECONDS
            accrued = mark.accrued_usd + gb_months * self.storage_price_per_gb_month
            micros = int(accrued * 1_000_000)  # whole micro-dollars; the rest waits for the next round
            after = mark.model_copy(
                update={
                    "instance_id": STORAGE_METER,
                    "settled_micros": micros,
                    "accrued_usd": accrued,
                    "stored_bytes": stored_bytes,
                    "settled_at": at,
                    "version": mark.version + 1,
                }
            )
            line = LedgerEntry(
                team_id=team_id,
                kind=EntryKind.STORAGE,
                day=day_of(at),
                entry_id=STORAGE_METER,
                amount_micros=0,
                seconds=seconds,
                gb_months=gb_months,
                price_per_gb_month=self.storage_price_per_gb_month,
                description="Snapshots and hibernated workspaces kept in S3",
                updated_at=at,
            )
            try:
                self.repository.settle_storage(mark, after, line, storing=stored_bytes > 0)
            except StaleMark:
                continue
            if micros != mark.settled_micros:
                self.check_balance(team_id, account_id)
            return micros - mark.settled_micros
        logger.warning("Could not settle a team's storage", extra={"team_id": team_id})
        return 0

    def ensure_covers(self, team_id: str, hourly_price: float | None, action: str) -> None:
        """InsufficientBalance unless the team's balance pays an hour at `hourly_price` (with the margin);
        with no price known yet, unless it is above zero."""
        balance = self.repository.balance(team_id).balance_micros
        needed = to_micros((hourly_price or 0.0) * (1 + self.margin))
        if balance <= 0 or balance < needed:
            raise InsufficientBalance(action, balance=to_usd(balance), needed=to_usd(max(needed, 1)))

    def check_balance(self, team_id: str, account_id: str) -> None:
        """Warn once a crossing: when the balance fell under the team's threshold (`balance.low`, and
        `billing.low_balance` for webhooks), and when it reached zero."""
        balance = self.repository.balance(team_id)
        threshold = balance.low_threshold_micros
        if threshold is None:
            threshold = to_micros(self.low_threshold_usd)
        details = {
            "balance": to_usd(balance.balance_micros),
            "threshold": to_usd(threshold),
            "currency": "USD",
        }
        events = []
        if balance.balance_micros < threshold and not balance.below_threshold:
            if self.repository.mark_below(team_id, threshold):
                events += [
                    BillingEvent(type=kind, account_id=account_id, team_id=team_id, details=details)
                    for kind in (BillingEventType.BALANCE_LOW, BillingEventType.LOW_BALANCE)
                ]
        elif balance.balance_micros >= threshold and balance.below_threshold:
            self.repository.clear_below(team_id, threshold)
        if balance.balance_micros <= 0 and not balance.exhausted:
            if self.repository.mark_exhausted(team_id):
                events.append(
                    BillingEvent(
                        type=BillingEventType.BALANCE_EXHAUSTED,
                        account_id=account_id,
                        team_id=team_id,
                        details=details,
                    )
                )
        elif balance.balance_micros > 0 and balance.exhausted:
            self.repository.clear_exhausted(team_id)
        if events:
            self.publisher.publish(events)

    def credit(
        self,
        team_id: str,
        account_id: str,
        amount_usd: float,
        source: CreditSource,
        *,
        payment_id: str | None = None,
        description: str | None = None,
    ) -> bool:
        """Add credits to the team, once per payment; whether they landed now (False: they had already)."""
        now = self.clock()
        credit_id = f"cred_{secrets.token_hex(8)}"
        entry = LedgerEntry(
            team_id=team_id,
            kind=EntryKind.CREDIT,
            day=day_of(now),
            entry_id=f"{now.isoformat()}#{credit_id}",
            amount_micros=to_micros(amount_usd),
            source=source,
            payment_id=payment_id or credit_id,
            description=description,
            updated_at=now,
        )
        if source == CreditSource.TRIAL:
            # A trial credit is part of the sign-up, which it must not slow down: no event, no warning.
            return self.repository.credit(entry) == CreditOutcome.LANDED
        for _ in range(SETTLE_ATTEMPTS):
            before = self.repository.balance(team_id)
            threshold = before.low_threshold_micros
            threshold = to_micros(self.low_threshold_usd) if threshold is None else threshold
            outcome = self.repository.credit(entry, before, threshold)
            if outcome == CreditOutcome.RACED:
                continue  # warned or cleared meanwhile: read the balance again
            if outcome == CreditOutcome.ALREADY_LANDED:
                return False
            added = {"amount": amount_usd, "source": source.value, "payment_id": entry.payment_id}
            events = [
                BillingEvent(
                    type=BillingEventType.CREDITS_ADDED, account_id=account_id, team_id=team_id, details=added
                )
            ]
            events += self._warnings_after_credit(before, entry.amount_micros, threshold, account_id)
            self.publisher.publish(events)
            return True
        raise ConcurrentCharges(team_id)

    def _warnings_after_credit(
        self, before: Balance, micros: int, threshold: int, account_id: str
    ) -> list[BillingEvent]:
        """A credit too small to lift a team over its threshold (or out of debt) warns as a charge would,
        once a crossing."""
        after = before.balance_micros + micros
        details = {"balance": to_usd(after), "threshold": to_usd(threshold), "currency": "USD"}
        kinds = []
        if after < threshold and not before.below_threshold:
            kinds += [BillingEventType.BALANCE_LOW, BillingEventType.LOW_BALANCE]
        if after <= 0 and not before.exhausted:
            kinds.append(BillingEventType.BALANCE_EXHAUSTED)
        return [
            BillingEvent(type=kind, account_id=account_id, team_id=before.team_id, details=details)
            for kind in kinds
        ]

    def welcome(self, account_id: str, team_id: str) -> None:
        """A new sign-up's team gets the trial credit, once."""
        if self.trial_credit_usd > 0:
            self.credit(
                team_id,
                account_id,
                self.trial_credit_usd,
                CreditSource.TRIAL,
                payment_id=f"trial-{team_id}",
                description="Trial credit",
            )

    def _machine(self, instance: Instance, at: datetime) -> Metered:
        micros, seconds = owed(instance, at, self.margin)
        price = instance.cost_per_hour
        with_margin = None if price is None else round(price * (1 + self.margin), 6)
        line = self._line(instance, instance.instance_id, at, with_margin)
        line = line.model_copy(update={"gpu_type": instance.gpu_type, "num_gpus": instance.num_gpus})
        return Metered(
            instance.instance_id, micros, seconds, instance.running_since, with_margin or 0.0, line
        )

    def _standby(self, instance: Instance, at: datetime) -> Metered:
        micros, seconds = standby_owed(instance, at, self.margin)
        price = instance.standby.cost_per_hour if instance.standby is not None else 0.0
        with_margin = round(price * (1 + self.margin), 6)
        line = self._line(instance, f"{instance.instance_id}#{STANDBY_LINE}", at, with_margin)
        line = line.model_copy(update={"description": STANDBY_LINE})
        open_since = instance.standby_billed_since if instance.standby is not None else None
        return Metered(line.entry_id, micros, seconds, open_since, with_margin, line)

    @staticmethod
    def _line(instance: Instance, entry_id: str, at: datetime, price_per_hour: float | None) -> LedgerEntry:
        return LedgerEntry(
            team_id=instance.team_id,
            kind=EntryKind.CHARGE,
            day=day_of(at),
            entry_id=entry_id,
            amount_micros=0,
            instance_id=instance.instance_id,
            price_per_hour=price_per_hour,
            updated_at=at,
        )
