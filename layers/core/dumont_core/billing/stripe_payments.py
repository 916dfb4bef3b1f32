"""Credits paid through Stripe: a Checkout Session for each payment, confirmed by Stripe's signed webhook.

`begin` answers `pending` with the session's URL; the credits land when Stripe sends
`checkout.session.completed` with `payment_status` `paid`, whose signature (the `Stripe-Signature` header,
HMAC-SHA256 of the timestamp and the raw body with the endpoint's secret) is checked by Stripe's library.
The session's id is the payment id, so a webhook delivered twice credits once.
"""

from __future__ import annotations

from typing import Any

import stripe

from dumont_core.billing.payments import ConfirmedPayment, Payment, PaymentRefused, PaymentStatus

COMPLETED = "checkout.session.completed"
PRODUCT_NAME = "Dumont Cloud credits"


class StripePayments:
    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        success_url: str,
        cancel_url: str,
        client: Any | None = None,
    ) -> None:
        self._client = client or stripe.StripeClient(api_key)
        self._webhook_secret = webhook_secret
        self._success_url = success_url
        self._cancel_url = cancel_url

    def begin(
        self, team_id: str, account_id: str, amount_usd: float, reference: str | None = None
    ) -> Payment:
        # Stripe answers a request repeated with the same idempotency key with the same Checkout Session.
        options: stripe.RequestOptions = {"idempotency_key": f"{team_id}:{reference}"} if reference else {}
        session = self._client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": round(amount_usd * 100),
                            "product_data": {"name": PRODUCT_NAME},
                        },
                    }
                ],
                "client_reference_id": team_id,
                "metadata": {"team_id": team_id, "account_id": account_id},
                "success_url": self._success_url,
                "cancel_url": self._cancel_url,
            },
            options=options,
        )
        return Payment(
            payment_id=session.id,
            amount_usd=amount_usd,
            status=PaymentStatus.PENDING,
            checkout_url=session.url,
        )

    def confirmation(self, payload: str, signature: str | None) -> ConfirmedPayment | None:
        """The payment a webhook confirms; None for events that confirm none. PaymentRefused when the
        signature does not hold."""
        try:
            event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret)
        except (ValueError, stripe.SignatureVerificationError) as error:
            raise PaymentRefused(f"Not a webhook signed by Stripe: {error}") from None
        if event.type != COMPLETED:
            return None
        session = event.data.object.to_dict()
        metadata = session.get("metadata") or {}
        if session.get("payment_status") != "paid" or "team_id" not in metadata:
            return None
        return ConfirmedPayment(
            payment_id=session["id"],
            team_id=metadata["team_id"],
            account_id=metadata.get("account_id", "unknown"),
            amount_usd=session["amount_total"] / 100,
        )
