"""What add-credits takes: an amount in dollars, as a JSON number, from a cent to 10,000; and what the
billing settings take: a threshold in dollars, or null."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.billing.schemas import AddCreditsRequest, BillingSettingsRequest


@pytest.mark.parametrize(
    "body", ['{"amount": "5"}', '{"amount": 0}', '{"amount": 0.001}', '{"amount": 10001}', "{}"]
)
def test_an_amount_that_is_not_a_number_of_dollars_in_range_is_refused(body: str) -> None:
    with pytest.raises(ValidationError):
        AddCreditsRequest.model_validate_json(body)


@pytest.mark.parametrize(("body", "amount"), [('{"amount": 5}', 5.0), ('{"amount": 12.5}', 12.5)])
def test_whole_and_fractional_dollars_are_taken(body: str, amount: float) -> None:
    assert AddCreditsRequest.model_validate_json(body).amount == amount


@pytest.mark.parametrize("body", ['{"low_balance_threshold": -1}', '{"low_balance_threshold": "5"}', "{}"])
def test_a_threshold_that_is_not_a_number_of_dollars_in_range_is_refused(body: str) -> None:
    with pytest.raises(ValidationError):
        BillingSettingsRequest.model_validate_json(body)


@pytest.mark.parametrize(
    ("body", "threshold"),
    [('{"low_balance_threshold": 25}', 25.0), ('{"low_balance_threshold": null}', None)],
)
def test_a_threshold_in_dollars_or_null_for_the_default_is_taken(body: str, threshold: float | None) -> None:
    assert BillingSettingsRequest.model_validate_json(body).low_balance_threshold == threshold
