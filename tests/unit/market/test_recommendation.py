"""When the market's forecast says to wait: only for a drop larger than the model's own backtested error
at that horizon, and never on a market where the model does no better than the last price."""

from __future__ import annotations

from dumont_core.market.forecast import HORIZONS, Backtest, HorizonScore
from dumont_core.market.service import recommendation

CURRENT = 1.00


def scored(model_error: float, naive_error: float) -> Backtest:
    """A backtest whose model erred by `model_error` at every horizon, the last price by `naive_error`."""
    horizons = [
        HorizonScore(ahead, 24, model_error, naive_error, (0.95, 1.05), 0.8)
        for ahead in range(1, HORIZONS + 1)
    ]
    return Backtest(horizons=horizons, model_error=model_error, naive_error=naive_error)


def forecast_dipping_to(price: float, at_hour: int) -> list[float]:
    return [price if ahead == at_hour else CURRENT for ahead in range(1, HORIZONS + 1)]


def test_a_drop_larger_than_the_models_error_is_worth_waiting_for() -> None:
    advice = recommendation(CURRENT, forecast_dipping_to(0.90, at_hour=4), scored(0.03, 0.06))
    assert advice.startswith("Wait 3-5 hours")
    assert "10% lower ($0.90/GPU-hour)" in advice and "3% error" in advice


def test_a_drop_within_the_models_error_says_rent_now() -> None:
    advice = recommendation(CURRENT, forecast_dipping_to(0.97, at_hour=4), scored(0.05, 0.08))
    assert advice.startswith("Rent now")


def test_no_drop_forecast_says_rent_now() -> None:
    advice = recommendation(CURRENT, [CURRENT * 1.02] * HORIZONS, scored(0.01, 0.05))
    assert advice.startswith("Rent now")


def test_a_model_no_better_than_the_last_price_never_says_wait() -> None:
    # A large drop forecast, but on this market the last price forecast better than the model.
    advice = recommendation(CURRENT, forecast_dipping_to(0.50, at_hour=2), scored(0.04, 0.03))
    assert "does no better than the last price" in advice
    assert not advice.startswith("Wait")


def test_a_model_not_yet_judged_never_says_wait() -> None:
    unjudged = Backtest(horizons=[], model_error=None, naive_error=None)
    advice = recommendation(CURRENT, forecast_dipping_to(0.50, at_hour=2), unjudged)
    assert advice.startswith("Rent when you need to") and "cannot be judged" in advice
