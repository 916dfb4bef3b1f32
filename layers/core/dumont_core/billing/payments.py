"""How credits are paid for: a payment port, and the local stack's provider, which confirms at once."""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Protocol

from dumont_core.platform.models import DomainModel


class PaymentStatus(StrEnum):
    CONFIRMED = "confirmed"
    """Paid: the credits land now."""
    PENDING = "pending"
    """The payer is sent to `checkout_url`; the credits land when the provider confirms the payment."""


class Payment(DomainModel):
    payment_id: str
    """The provider's id of the payment: credits land once per payment id."""
    amount_usd: float
    status: PaymentStatus
    checkout_url: str | None = None


class PaymentProvider(Protocol):
    def begin(self, team_id: str, account_id: str, amount_usd: float) -> Payment:
        """Ask for `amount_usd` to be paid for the team."""
        ...


class InstantPayments:
    """The local stack's provider: every payment is confirmed as soon as it is asked for."""

    def begin(self, team_id: str, account_id: str, amount_usd: float) -> Payment:
        return Payment(
            payment_id=f"pay_local_{secrets.token_hex(8)}",
            amount_usd=amount_usd,
            status=PaymentStatus.CONFIRMED,
        )
