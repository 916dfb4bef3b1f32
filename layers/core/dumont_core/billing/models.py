"""Money in the billing domain: amounts, balances, the meter's watermark, the ledger and its events.

Amounts are kept in whole micro-dollars (`int`), so sums are exact and a figure read to the cent is the
sum of the figures it is made of.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field

from dumont_core.platform.events import DomainEvent
from dumont_core.platform.models import DomainModel
from dumont_core.platform.money import MICROS_PER_USD as MICROS_PER_USD
from dumont_core.platform.money import to_micros as to_micros
from dumont_core.platform.money import to_usd as to_usd

CURRENCY = "USD"


class CreditSource(StrEnum):
    TRIAL = "trial"
    """Given to a new sign-up."""
    PAYMENT = "payment"
    """Paid for (`POST /api/v1/billing/add-credits`)."""
    GRANT = "grant"
    """Handed out by an operator of the deployment."""


class EntryKind(StrEnum):
    CHARGE = "charge"
    CREDIT = "credit"
    STORAGE = "storage"
    """The bytes the team's snapshots (hibernated workspaces included) keep in S3, per GB-month."""


class Balance(DomainModel):
    team_id: str
    balance_micros: int = 0
    low_threshold_micros: int | None = None
    """Under this a team is warned; the deployment's default when None."""
    below_threshold: bool = False
    """Set when the balance falls under the threshold, cleared once it is back over: a warning a crossing."""
    exhausted: bool = False
    """Set once the balance reached zero and the team's machines were let go, cleared by a top-up."""


class MeterMark(DomainModel):
    """How much of an instance's use is already charged: its watermark."""

    team_id: str
    instance_id: str
    settled_micros: int = 0
    """Everything charged for the instance so far (margin included)."""
    settled_seconds: float = 0.0
    settled_at: datetime | None = None
    version: int = 0
    """Raised by every settlement, which expects the one it read: two settlers never both win."""
    accrued_usd: float = 0.0
    """Storage: what the bytes kept cost so far, unrounded; `settled_micros` is what was charged of it."""
    stored_bytes: int = 0
    """Storage: the bytes kept when last settled, charged for the time until the next settlement."""


class LedgerEntry(DomainModel):
    """One line of a team's history: an instance's charges on one day, or one credit."""

    team_id: str
    kind: EntryKind
    day: str
    """The UTC day, `YYYY-MM-DD`."""
    entry_id: str
    """The instance charged, or the credit's id."""
    amount_micros: int
    """Charged (a charge), or added (a credit); positive."""
    seconds: float = 0.0
    price_per_hour: float | None = None
    """What the instance's machine cost an hour (margin included) when last charged."""
    instance_id: str | None = None
    gpu_type: str | None = None
    num_gpus: int | None = None
    source: CreditSource | None = None
    payment_id: str | None = None
    description: str | None = None
    gb_months: float | None = None
    """Storage: the GB-months kept that day."""
    price_per_gb_month: float | None = None
    updated_at: datetime


class ChargeSlice(DomainModel):
    """Part of a settlement falling on one day."""

    day: str
    """The UTC day, `YYYY-MM-DD`."""
    micros: int
    seconds: float


class BillingEventType(StrEnum):
    BALANCE_LOW = "balance.low"
    LOW_BALANCE = "billing.low_balance"
    CREDITS_ADDED = "billing.credits_added"
    BALANCE_EXHAUSTED = "billing.balance_exhausted"


class BillingEvent(DomainEvent):
    """Something that happened to a team's money, published on the bus."""

    source: ClassVar[str] = "dumont.billing"

    type: BillingEventType
    details: dict[str, Any] = Field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return dict(self.details)


class BalanceReport(DomainModel):
    """A team's balance as of its last settlement, and how long it lasts at the current burn."""

    balance: float
    currency: str = CURRENCY
    burn_per_hour: float
    """What the team's running instances, and the machines its instances keep idle (standbys, stopped
    machines' disks), cost an hour together (margin included)."""
    hours_left: float | None
    """How long the balance lasts at that burn; None when nothing burns."""
    low_balance_threshold: float
    running_instances: int


class HistoryLine(DomainModel):
    """One line of the history: an instance's charges on a day, or a credit."""

    kind: EntryKind
    date: str
    amount: float
    """In dollars, to the micro-dollar: charged (a charge) or added (a credit)."""
    instance_id: str | None = None
    gpu_type: str | None = None
    num_gpus: int | None = None
    hours: float | None = None
    price_per_hour: float | None = None
    source: CreditSource | None = None
    payment_id: str | None = None
    description: str | None = None
    gb_months: float | None = None
    """Storage: GB-months the team's snapshots kept that day."""
    price_per_gb_month: float | None = None


class HistoryPage(DomainModel):
    items: list[HistoryLine]
    page: int
    per_page: int
    total: int
    """For clients that page by number: the lines through this page, plus one when more follow."""
    next_cursor: str | None = None
    """Where the next page starts (`cursor`); None on the last page."""
    total_charged: float
    """Over the whole period and filter, not only this page."""
    total_credited: float


class CreditReceipt(DomainModel):
    payment_id: str
    amount: float
    status: str
    """`confirmed` (the credits landed) or `pending` (pay at `checkout_url`)."""
    checkout_url: str | None = None
    balance: float | None
    """The team's balance after it; None for an operator's grant, whose team is not the operator's to read."""


class BillingSettings(DomainModel):
    """A team's own billing settings."""

    low_balance_threshold: float
    """Under this balance the team is warned (`balance.low`, `billing.low_balance`), once a crossing."""
    default_threshold: bool
    """Whether that is the deployment's default (`LOW_BALANCE_THRESHOLD_USD`), the team having set none."""
