"""Paying for credits through the local stack's provider, which confirms at once: a payment lands once
however the request for it is retried, with or without an idempotency key."""

from __future__ import annotations

import pytest

from tests.integration.billing.conftest import Money
from tests.integration.instances.conftest import PRINCIPAL


def test_a_retried_request_without_a_key_is_one_payment(money: Money) -> None:
    first = money.billing.add_credits(PRINCIPAL, 20)
    money.cloud.clock.advance(seconds=5)
    retried = money.billing.add_credits(PRINCIPAL, 20)

    assert retried.payment_id == first.payment_id
    assert retried.balance == pytest.approx(20)
    assert money.balance() == pytest.approx(20)


def test_a_retried_request_with_a_key_is_one_payment_and_two_keys_are_two(money: Money) -> None:
    money.billing.add_credits(PRINCIPAL, 20, idempotency_key="top-up-1")
    money.cloud.clock.advance(hours=30)  # long after the stored answer to the key expired
    money.billing.add_credits(PRINCIPAL, 20, idempotency_key="top-up-1")
    assert money.balance() == pytest.approx(20)

    money.billing.add_credits(PRINCIPAL, 20, idempotency_key="top-up-2")
    assert money.balance() == pytest.approx(40)


def test_the_same_amount_asked_again_later_or_another_amount_is_another_payment(money: Money) -> None:
    money.billing.add_credits(PRINCIPAL, 20)
    money.billing.add_credits(PRINCIPAL, 5)
    money.cloud.clock.advance(minutes=11)
    money.billing.add_credits(PRINCIPAL, 20)

    assert money.balance() == pytest.approx(45)
