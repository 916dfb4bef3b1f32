"""Answers of the offer routes."""

from __future__ import annotations

from api.schemas import View
from dumont_core.market.offers import MarketOffer


class OfferView(View, MarketOffer):
    """An offer as the provider shows it now, in our shape: prices per hour and per GPU-hour, on-demand
    and interruptible, reliability 0-5, our region."""
