"""Requests and answers of the billing routes (seed 001: balance, history, add-credits)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas import PageView, RequestBody, View
from dumont_core.billing.models import BalanceReport, BillingSettings, CreditReceipt, HistoryLine

MAX_CREDIT_USD = 10_000.0


class AddCreditsRequest(RequestBody):
    amount: float = Field(
        ge=0.01,
        le=MAX_CREDIT_USD,
        description="Dollars to add, at least one cent and at most 10,000 at once",
        examples=[50],
    )


class GrantRequest(AddCreditsRequest):
    team_id: str = Field(min_length=1, max_length=64, description="The team to credit, e.g. team_3f9c…")
    note: str | None = Field(default=None, max_length=200, description="Why, shown in the team's history")


class BalanceView(View, BalanceReport):
    """The team's balance, what its running instances burn an hour, and how long the balance lasts."""


class HistoryLineView(View, HistoryLine):
    """A line of the history: an instance's charges on one day (hours and price), or a credit."""


class HistoryMetaView(PageView):
    """The page, and what the whole period (and filter) adds up to, not only this page."""

    next_cursor: str | None
    total_charged: float
    total_credited: float


class HistoryEnvelope(View):
    success: Literal[True] = True
    data: list[HistoryLineView]
    meta: HistoryMetaView


class CreditReceiptView(View, CreditReceipt):
    """The payment asked for and, once it is confirmed, the balance with the credits in it."""


class WebhookReceiptView(View):
    """The notification was received; `credited` says whether credits landed with it (not on a repeat)."""

    received: bool
    credited: bool


class BillingSettingsRequest(RequestBody):
    low_balance_threshold: float | None = Field(
        ge=0,
        le=MAX_CREDIT_USD,
        description="Dollars under which the team is warned, from 0 to 10,000; null for the default",
        examples=[25],
    )


class BillingSettingsView(View, BillingSettings):
    """The team's billing settings as they now stand."""
