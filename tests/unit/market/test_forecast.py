"""Forecasts judged on the local marketplace's prices, with a fixed seed: on a market with a daily cycle
the model beats the naive forecast in the backtest, on a pure random walk it says it does not, and with
less than a day of prices it forecasts nothing."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest

from dumont_core.market.forecast import BACKTEST_HOURS, HOUR, backtest, fit_and_forecast
from local_stack.marketplace.market import SimulatedMarket
from local_stack.marketplace.prices import PriceDynamics, PriceModel

START = datetime(2026, 11, 20, tzinfo=UTC)


def hourly_medians(dynamics: PriceDynamics, hours: int, seed: int = 11) -> dict[datetime, float]:
    """The median price per GPU-hour of the marketplace's RTX 4090 offers, each hour, as collected."""
    model = PriceModel(seed, clock=lambda: 0.0, epoch=START.timestamp(), dynamics=dynamics)
    market = SimulatedMarket(
        seed=seed, boot_seconds=(1, 2), action_seconds=(1, 2), clock=lambda: 0.0, prices=model
    )
    series = {}
    for hour in range(hours):
        moment = START + timedelta(hours=hour)
        with model.pinned_at(moment.timestamp()):
            offers = market.search({"gpu_name": {"eq": "RTX 4090"}, "limit": 500})
        series[moment] = statistics.median(offer["dph_total"] / offer["num_gpus"] for offer in offers)
    return series


def test_on_a_market_with_a_daily_cycle_the_model_beats_the_last_price() -> None:
    series = hourly_medians(PriceDynamics.MARKET, hours=24 * 5)
    scores = backtest(series, max(series))
    assert scores.model_error is not None and scores.naive_error is not None
    assert scores.beats_naive
    assert scores.model_error < 0.8 * scores.naive_error
    six_hours = scores.at(6)
    assert six_hours.model_error is not None and six_hours.naive_error is not None
    assert six_hours.model_error < six_hours.naive_error


def test_on_a_random_walk_the_model_reports_that_it_does_not_beat_the_last_price() -> None:
    series = hourly_medians(PriceDynamics.RANDOM_WALK, hours=24 * 5)
    scores = backtest(series, max(series))
    assert scores.model_error is not None
    assert not scores.beats_naive


def test_interval_confidence_is_measured_on_origins_it_was_not_made_from() -> None:
    series = hourly_medians(PriceDynamics.MARKET, hours=24 * 5)
    one_hour = backtest(series, max(series)).at(1)
    assert one_hour.coverage is not None and one_hour.interval is not None
    assert 0.0 <= one_hour.coverage <= 1.0
    assert one_hour.interval[0] < 1.0 < one_hour.interval[1]


@pytest.mark.parametrize("hours", [1, 12, 23])
def test_less_than_a_day_of_prices_forecasts_nothing(hours: int) -> None:
    series = {START + timedelta(hours=hour): 0.4 for hour in range(hours)}
    assert fit_and_forecast(series, max(series)) is None
    assert backtest(series, max(series)).model_error is None


@pytest.mark.parametrize("ahead", [1, 6, 24])
def test_the_interval_given_is_the_one_whose_coverage_is_reported(ahead: int) -> None:
    series = hourly_medians(PriceDynamics.MARKET, hours=24 * 5)
    now = max(series)
    score = backtest(series, now).at(ahead)
    assert score.interval is not None and score.coverage is not None
    # The backtest's origins, oldest first, and how the price that came compared with each forecast.
    ratios = []
    for step in range(BACKTEST_HOURS, ahead - 1, -1):
        origin = now - HOUR * step
        forecast = fit_and_forecast(series, origin)
        if forecast is not None:
            ratios.append(series[origin + HOUR * ahead] / forecast[ahead - 1])
    # Measured out of sample: on the later half of the origins, which the interval was not made from.
    later = ratios[len(ratios) // 2 :]
    low, high = score.interval
    assert score.coverage == sum(low <= ratio <= high for ratio in later) / len(later)
