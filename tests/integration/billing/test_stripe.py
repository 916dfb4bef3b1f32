"""Credits paid through Stripe: a Checkout Session asked for each payment, and credits landing once when
Stripe's signed webhook says the session was paid (payloads and signatures as Stripe documents them)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from dumont_core.billing.payments import PaymentStatus
from dumont_core.billing.stripe_payments import StripePayments
from dumont_core.platform.errors import ValidationFailed
from tests.integration.billing.conftest import TEAM, Money
from tests.integration.instances.conftest import PRINCIPAL

WEBHOOK_SECRET = "whsec_test_secret"


class Sessions:
    """Stands in for `StripeClient().v1.checkout.sessions`: answers what Stripe answers a create."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create(self, params: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        self.created.append(params)
        return SimpleNamespace(id="cs_test_a1b2c3", url="https://checkout.stripe.com/c/pay/cs_test_a1b2c3")


@pytest.fixture
def sessions() -> Sessions:
    return Sessions()


@pytest.fixture
def stripe_money(money: Money, sessions: Sessions) -> Money:
    client = SimpleNamespace(v1=SimpleNamespace(checkout=SimpleNamespace(sessions=sessions)))
    payments = StripePayments(
        api_key="sk_test_x",
        webhook_secret=WEBHOOK_SECRET,
        success_url="https://example.com/paid",
        cancel_url="https://example.com/billing",
        client=client,
    )
    return replace(money, billing=replace(money.billing, payments=payments))


def completed(payment_status: str = "paid", event_type: str = "checkout.session.completed") -> str:
    """A `checkout.session.completed` event as Stripe documents it (trimmed of fields we do not read)."""
    return json.dumps(
        {
            "id": "evt_1Q2w3E4r5T6y7U8i",
            "object": "event",
            "api_version": "2024-06-20",
            "created": 1733100000,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
            "data": {
                "object": {
                    "id": "cs_test_a1b2c3",
                    "object": "checkout.session",
                    "amount_subtotal": 5000,
                    "amount_total": 5000,
                    "client_reference_id": TEAM,
                    "currency": "usd",
                    "customer": None,
                    "metadata": {"team_id": TEAM, "account_id": PRINCIPAL.account_id},
                    "mode": "payment",
                    "payment_intent": "pi_3Q2w3E4r5T6y7U8i",
                    "payment_status": payment_status,
                    "status": "complete",
                    "success_url": "https://example.com/paid",
                    "url": None,
                }
            },
        }
    )


def signed(payload: str, secret: str = WEBHOOK_SECRET) -> str:
    """The `Stripe-Signature` header: `t=` the time, `v1=` HMAC-SHA256 of `{t}.{payload}` with the secret."""
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def test_adding_credits_asks_stripe_for_a_checkout_session_and_credits_nothing_yet(
    stripe_money: Money, sessions: Sessions
) -> None:
    receipt = stripe_money.billing.add_credits(PRINCIPAL, 50)

    assert receipt.status == PaymentStatus.PENDING
    assert receipt.checkout_url == "https://checkout.stripe.com/c/pay/cs_test_a1b2c3"
    assert receipt.balance == 0
    [asked] = sessions.created
    assert asked["mode"] == "payment"
    assert asked["line_items"][0]["price_data"]["unit_amount"] == 5000
    assert asked["metadata"] == {"team_id": TEAM, "account_id": PRINCIPAL.account_id}


def test_a_paid_session_is_credited_once_however_often_stripe_delivers_it(stripe_money: Money) -> None:
    payload = completed()

    assert stripe_money.billing.confirm_payment(payload, signed(payload))
    assert not stripe_money.billing.confirm_payment(payload, signed(payload))

    assert stripe_money.balance() == 50
    [line] = stripe_money.billing.history(
        PRINCIPAL, since=None, until=None, instance_id=None, page=1, per_page=5
    ).items
    assert (line.source, line.payment_id, line.amount) == ("payment", "cs_test_a1b2c3", 50)


@pytest.mark.parametrize(
    "payload", [completed(payment_status="unpaid"), completed(event_type="checkout.session.expired")]
)
def test_other_events_and_unpaid_sessions_credit_nothing(stripe_money: Money, payload: str) -> None:
    assert not stripe_money.billing.confirm_payment(payload, signed(payload))
    assert stripe_money.balance() == 0


def test_a_notification_not_signed_with_the_endpoints_secret_is_refused(stripe_money: Money) -> None:
    payload = completed()
    tampered = payload.replace("5000", "500000")
    for body, signature in (
        (payload, signed(payload, "whsec_someone_else")),
        (payload, None),
        (tampered, signed(payload)),
    ):
        with pytest.raises(ValidationFailed):
            stripe_money.billing.confirm_payment(body, signature)
    assert stripe_money.balance() == 0
