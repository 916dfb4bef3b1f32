"""What users, the schedule and the other domains ask of billing: balances, history, credits, and the
settlement of every running instance (with what happens when a team's money runs out)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from aws_lambda_powertools import Logger

from dumont_core.billing.meter import Meter
from dumont_core.billing.models import (
    BalanceReport,
    BillingSettings,
    CreditReceipt,
    CreditSource,
    EntryKind,
    HistoryLine,
    HistoryPage,
    LedgerEntry,
    to_micros,
    to_usd,
)
from dumont_core.billing.payments import PaymentProvider, PaymentRefused, PaymentStatus
from dumont_core.billing.repository import BillingRepository
from dumont_core.billing.rollups import ALL_TIME, DAY, Rollup
from dumont_core.instances.models import Instance, InstanceStatus
from dumont_core.instances.service import InstanceService
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import DumontError, NotFound, ValidationFailed
from dumont_core.platform.identity import Principal

logger = Logger(child=True)

FIRST_DAY = "0000-00-00"
LAST_DAY = "9999-99-99"
RETRY_WINDOW_SECONDS = 600
"""Without an idempotency key, the same amount asked by the same person within this window (aligned on
the clock) is taken for a retry of one payment: paying it twice needs two keys."""
OUT_OF_CREDIT = "balance_exhausted"
"""The reason an instance is hibernated when its team's balance reaches zero."""


class Teams(Protocol):
    """Where teams are known (the access domain)."""

    def exists(self, team_id: str) -> bool: ...


class Storage(Protocol):
    """Whoever knows what a team's snapshots keep in S3 (the snapshots domain)."""

    def stored_bytes(self, team_id: str) -> int: ...


class Hibernator(Protocol):
    """Whoever hibernates a running instance (the snapshots domain): nothing is lost for lack of credit."""

    def hibernate_instance(self, instance: Instance, reason: str) -> object: ...


def idle_cost_per_hour(instance: Instance) -> float:
    """What the machines the instance keeps without running on them cost an hour: its standby, and its own
    machine's disk while stopped."""
    standby = instance.standby.cost_per_hour if instance.standby and instance.standby_billed_since else 0.0
    return standby + ((instance.stopped_cost_per_hour or 0.0) if instance.stopped_since else 0.0)


def history_line(entry: LedgerEntry) -> HistoryLine:
    charge = entry.kind == EntryKind.CHARGE
    storage = entry.kind == EntryKind.STORAGE
    return HistoryLine(
        kind=entry.kind,
        date=entry.day,
        amount=to_usd(entry.amount_micros),
        instance_id=entry.instance_id,
        gpu_type=entry.gpu_type,
        num_gpus=entry.num_gpus,
        hours=round(entry.seconds / 3600, 6) if charge else None,
        price_per_hour=entry.price_per_hour,
        source=entry.source,
        payment_id=entry.payment_id,
        description=entry.description,
        gb_months=round(entry.gb_months or 0.0, 9) if storage else None,
        price_per_gb_month=entry.price_per_gb_month if storage else None,
    )


@dataclass(frozen=True, kw_only=True)
class BillingService:
    repository: BillingRepository
    meter: Meter
    instances: InstanceService
    payments: PaymentProvider
    hibernator: Hibernator | None = None
    teams: Teams | None = None
    storage: Storage | None = None
    clock: Clock = field(default=utc_now)

    # What users ask -----------------------------------------------------------------------------

    def balance(self, principal: Principal) -> BalanceReport:
        balance = self.repository.balance(principal.team_id)
        instances = self.instances.list_all(principal)
        running = [instance for instance in instances if instance.status == InstanceStatus.RUNNING]
        hourly = sum(instance.cost_per_hour or 0.0 for instance in running)
        burn = (hourly + sum(map(idle_cost_per_hour, instances))) * (1 + self.meter.margin)
        amount = to_usd(balance.balance_micros)
        threshold = balance.low_threshold_micros
        return BalanceReport(
            balance=amount,
            burn_per_hour=round(burn, 6),
            hours_left=round(max(amount, 0.0) / burn, 2) if burn > 0 else None,
            low_balance_threshold=to_usd(threshold)
            if threshold is not None
            else self.meter.low_threshold_usd,
            running_instances=len(running),
        )

    def history(
        self,
        principal: Principal,
        *,
        since: date | None,
        until: date | None,
        instance_id: str | None,
        per_page: int,
        cursor: str | None = None,
        page: int = 1,
    ) -> HistoryPage:
        """A page of the history, newest first: one query from `cursor` (the previous page's
        `next_cursor`). A page number past 1 without a cursor reads the pages before it first."""
        first = since.isoformat() if since else FIRST_DAY
        last = until.isoformat() if until else LAST_DAY
        team_id = principal.team_id
        number = 1 if cursor is not None else page
        for _ in range(number - 1):
            _, cursor = self.repository.ledger_page(
                team_id, first, last, instance_id=instance_id, limit=per_page, cursor=cursor
            )
            if cursor is None:
                break
        entries: list[LedgerEntry] = []
        if number == 1 or cursor is not None:
            entries, cursor = self.repository.ledger_page(
                team_id, first, last, instance_id=instance_id, limit=per_page, cursor=cursor
            )
        charged, credited = self._totals(team_id, first, last, instance_id)
        shown = [entry for entry in entries if entry.amount_micros or entry.seconds]
        return HistoryPage(
            items=[history_line(entry) for entry in shown],
            page=page,
            per_page=per_page,
            total=page * per_page + 1 if cursor else (page - 1) * per_page + len(shown),
            next_cursor=cursor,
            total_charged=to_usd(charged),
            total_credited=to_usd(credited),
        )

    def _totals(self, team_id: str, first: str, last: str, instance_id: str | None) -> tuple[int, int]:
        """What the period (and filter) charged and credited, from the running totals: all time's, or
        the days'; an instance's from its own lines."""
        entries: list[LedgerEntry | Rollup]
        if instance_id is not None:
            entries = list(self.repository.instance_lines(team_id, first, last, instance_id))
        elif first == FIRST_DAY and last == LAST_DAY:
            entries = list(self.repository.all_time(team_id))
        else:
            entries = list(self.repository.rollups(team_id, DAY, first, last))
        charged = sum(entry.amount_micros for entry in entries if entry.kind != EntryKind.CREDIT)
        credited = sum(entry.amount_micros for entry in entries if entry.kind == EntryKind.CREDIT)
        return charged, credited

    def totals(self, principal: Principal, scope: str, first_day: str, last_day: str) -> list[Rollup]:
        """The team's running totals of `scope` (rollups.DAY or MONTH) from `first_day` to `last_day`
        (UTC, both included), or all time's (scope rollups.ALL_TIME)."""
        if scope == ALL_TIME:
            return self.repository.all_time(principal.team_id)
        return self.repository.rollups(principal.team_id, scope, first_day, last_day)

    def set_low_balance_threshold(self, principal: Principal, threshold_usd: float | None) -> BillingSettings:
        """The team's own threshold (None: back to the deployment's default). A balance already under the
        new threshold is warned of at once, as a crossing."""
        threshold = None if threshold_usd is None else to_micros(threshold_usd)
        self.repository.set_threshold(principal.team_id, threshold)
        self.meter.check_balance(principal.team_id, principal.account_id)
        return BillingSettings(
            low_balance_threshold=self.meter.low_threshold_usd if threshold_usd is None else threshold_usd,
            default_threshold=threshold_usd is None,
        )

    def add_credits(
        self, principal: Principal, amount_usd: float, idempotency_key: str | None = None
    ) -> CreditReceipt:
        """Pay for credits; they land once the payment is confirmed (at once, with the local provider).
        The request names its payment: by its idempotency key, else by who asked how much within
        RETRY_WINDOW_SECONDS, so a retry, with or without a key, is the same payment and lands once."""
        window = int(self.clock().timestamp() // RETRY_WINDOW_SECONDS)
        reference = (
            f"key:{idempotency_key}"
            if idempotency_key
            else (f"{principal.account_id}:{amount_usd:.2f}:{window}")
        )
        payment = self.payments.begin(principal.team_id, principal.account_id, amount_usd, reference)
        if payment.status == PaymentStatus.CONFIRMED:
            self.meter.credit(
                principal.team_id,
                principal.account_id,
                amount_usd,
                CreditSource.PAYMENT,
                payment_id=payment.payment_id,
            )
        return CreditReceipt(
            payment_id=payment.payment_id,
            amount=amount_usd,
            status=payment.status.value,
            checkout_url=payment.checkout_url,
            balance=to_usd(self.repository.balance(principal.team_id).balance_micros),
        )

    def grant(self, operator: Principal, team_id: str, amount_usd: float, note: str | None) -> CreditReceipt:
        """An operator hands `amount_usd` of credits to any team (its budget, in a company's own copy)."""
        if self.teams is not None and not self.teams.exists(team_id):
            raise NotFound("TEAM_NOT_FOUND", f"Team {team_id} not found", team_id=team_id)
        grant_id = f"grant_{secrets.token_hex(8)}"
        self.meter.credit(
            team_id,
            operator.account_id,
            amount_usd,
            CreditSource.GRANT,
            payment_id=grant_id,
            description=note,
        )
        return CreditReceipt(payment_id=grant_id, amount=amount_usd, status="confirmed", balance=None)

    def confirm_payment(self, payload: str, signature: str | None) -> bool:
        """The payment provider's notification: credit the payment it confirms, once. Whether credits
        landed now; ValidationFailed when the notification is not the provider's."""
        try:
            confirmed = self.payments.confirmation(payload, signature)
        except PaymentRefused as error:
            raise ValidationFailed(
                str(error), details={"fields": [{"field": "Stripe-Signature", "message": str(error)}]}
            ) from None
        if confirmed is None:
            return False
        return self.meter.credit(
            confirmed.team_id,
            confirmed.account_id,
            confirmed.amount_usd,
            CreditSource.PAYMENT,
            payment_id=confirmed.payment_id,
        )

    # What the other domains and the schedule ask -------------------------------------------------

    def settle_running(self) -> list[str]:
        """The schedule's round: settle every instance whose billing changed since it was last settled
        (it started, stopped, hibernated, died...) and every running one; hibernate those whose team's
        balance is spent. The ids of the instances hibernated."""
        changed = self.instances.unsettled()
        running = self.instances.running()
        settled = {instance.instance_id for instance in running}
        for instance, changed_at in changed:
            if instance.instance_id not in settled:
                self._settle(instance)
            if not instance.billed_while_idle:  # else kept marked: every round settles its idle machines
                self.instances.mark_settled(instance, changed_at)
        self._settle_storage(
            {instance.team_id: instance.account_id for instance in running}
            | {instance.team_id: instance.account_id for instance, _ in changed}
        )
        hibernated = []
        for instance in running:
            self._settle(instance)
            if self.hibernator is None or self.repository.balance(instance.team_id).balance_micros > 0:
                continue
            try:
                self.hibernator.hibernate_instance(instance, OUT_OF_CREDIT)
            except DumontError as error:
                logger.warning(
                    "Could not hibernate an instance out of credit",
                    extra={"instance_id": instance.instance_id, "why": error.message},
                )
                continue
            hibernated.append(instance.instance_id)
        return hibernated

    def _settle_storage(self, accounts: dict[str, str]) -> None:
        """Charge the snapshot storage of every team that keeps some, or used machines since last round."""
        if self.storage is None:
            return
        for team_id in set(accounts) | set(self.repository.storing_teams()):
            try:
                self.meter.settle_storage(
                    team_id, accounts.get(team_id, team_id), self.storage.stored_bytes(team_id)
                )
            except Exception:  # one team's trouble never stops the others'; the next round catches up
                logger.exception("Could not settle a team's storage", extra={"team_id": team_id})

    def _settle(self, instance: Instance) -> None:
        try:
            self.meter.settle(instance)
        except (
            Exception
        ):  # one instance's trouble never stops the others' settlement; the next round catches up
            logger.exception("Could not settle an instance", extra={"instance_id": instance.instance_id})
