"""Which payment provider a deployment gets from its settings and the Stripe secret it names."""

from __future__ import annotations

import json

import pytest

from dumont_core.billing.payments import InstantPayments, NoPayments, payments_from
from dumont_core.billing.stripe_payments import StripePayments
from dumont_core.platform.errors import ServiceUnavailable
from dumont_core.platform.settings import BillingSettings

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dumont-stripe-AbCdEf"


def settings(**values: object) -> BillingSettings:
    return BillingSettings.model_validate(values)


def secret_holding(value: dict[str, str]) -> dict[str, str]:
    return {ARN: json.dumps(value)}


def test_a_filled_in_stripe_secret_takes_payments_through_stripe() -> None:
    secrets = secret_holding({"api_key": "sk_test_1", "webhook_secret": "whsec_1"})
    provider = payments_from(settings(STRIPE_SECRET_ARN=ARN), secrets.__getitem__)
    assert isinstance(provider, StripePayments)


def test_the_secret_the_deployment_made_takes_no_payments_until_it_is_filled_in() -> None:
    # As CDK creates it: both fields empty, and the generated placeholder beside them.
    secrets = secret_holding({"api_key": "", "webhook_secret": "", "placeholder": "x9Yz"})
    provider = payments_from(settings(STRIPE_SECRET_ARN=ARN), secrets.__getitem__)

    assert isinstance(provider, NoPayments)
    with pytest.raises(ServiceUnavailable, match="ask its operators for credits"):
        provider.begin("team_1", "acct_1", 10)


def test_the_local_stack_confirms_at_once_and_a_bare_deployment_takes_none() -> None:
    def unreadable(arn: str) -> str:
        raise AssertionError("no secret is read")

    assert isinstance(payments_from(settings(INSTANT_PAYMENTS=True), unreadable), InstantPayments)
    assert isinstance(payments_from(settings(), unreadable), NoPayments)
