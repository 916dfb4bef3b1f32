"""How credits are paid for: a payment port, and the local stack's provider, which confirms at once."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol

from dumont_core.platform.errors import ServiceUnavailable
from dumont_core.platform.models import DomainModel
from dumont_core.platform.settings import BillingSettings


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


class ConfirmedPayment(DomainModel):
    """A payment the provider says was made: its credits land once."""

    payment_id: str
    team_id: str
    account_id: str
    amount_usd: float


class PaymentRefused(Exception):
    """A confirmation that does not come from the provider (a bad signature)."""


class PaymentProvider(Protocol):
    def begin(
        self, team_id: str, account_id: str, amount_usd: float, reference: str | None = None
    ) -> Payment:
        """Ask for `amount_usd` to be paid for the team; asked again with the same `reference`, the same
        payment."""
        ...

    def confirmation(self, payload: str, signature: str | None) -> ConfirmedPayment | None:
        """The payment the provider's notification confirms, if any."""
        ...


class InstantPayments:
    """The local stack's provider: every payment is confirmed as soon as it is asked for."""

    def begin(
        self, team_id: str, account_id: str, amount_usd: float, reference: str | None = None
    ) -> Payment:
        # The payment's id names the request it answers, so a retried request is the same payment, which
        # lands once (the ledger keeps one credit a payment id).
        named = hashlib.sha256(f"{team_id}:{reference}".encode()).hexdigest()[:16] if reference else None
        return Payment(
            payment_id=f"pay_local_{named or secrets.token_hex(8)}",
            amount_usd=amount_usd,
            status=PaymentStatus.CONFIRMED,
        )

    def confirmation(self, payload: str, signature: str | None) -> ConfirmedPayment | None:
        raise PaymentRefused("This deployment confirms payments at once; it takes no notifications")


class NoPayments:
    """A deployment that takes no payments: credits come from operators' grants alone."""

    def begin(
        self, team_id: str, account_id: str, amount_usd: float, reference: str | None = None
    ) -> Payment:
        raise ServiceUnavailable("This deployment takes no payments yet; ask its operators for credits")

    def confirmation(self, payload: str, signature: str | None) -> ConfirmedPayment | None:
        raise PaymentRefused("This deployment takes no payment notifications")


def payments_from(settings: BillingSettings, read_secret: Callable[[str], str]) -> PaymentProvider:
    """Stripe when its secret is configured and filled in; payments confirmed at once where asked (the local
    stack); else none."""
    if not settings.stripe_secret_arn:
        return InstantPayments() if settings.instant_payments else NoPayments()
    from dumont_core.billing.stripe_payments import StripePayments

    secret = json.loads(read_secret(settings.stripe_secret_arn))
    if not (secret.get("api_key") and secret.get("webhook_secret")):
        # The secret the deployment made holds both empty until an operator fills them in.
        return NoPayments()
    return StripePayments(
        api_key=secret["api_key"],
        webhook_secret=secret["webhook_secret"],
        success_url=settings.checkout_success_url,
        cancel_url=settings.checkout_cancel_url,
    )
