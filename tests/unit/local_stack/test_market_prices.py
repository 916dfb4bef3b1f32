"""The local marketplace's prices move like a market: a daily cycle, trends and shocks, the same for the
same seed, and interruptible prices below on-demand."""

from __future__ import annotations

import itertools
import math
import statistics

from local_stack.marketplace.market import SimulatedMarket
from local_stack.marketplace.prices import DAY_SECONDS, PriceDynamics, PriceModel

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def price(model: PriceModel, at: float, geolocation: str = "Texas, US", offer_id: int = 1) -> float:
    return model.price_of(
        start_price=1.0, offer_id=offer_id, gpu_name="RTX 4090", geolocation=geolocation, at=at
    )


def test_the_same_seed_prices_the_same_moment_alike() -> None:
    first = PriceModel(7, clock=lambda: 0.0, epoch=EPOCH)
    second = PriceModel(7, clock=lambda: 0.0, epoch=EPOCH)
    other = PriceModel(8, clock=lambda: 0.0, epoch=EPOCH)
    moments = [EPOCH + hour * 3600 for hour in range(48)]
    assert [price(first, at) for at in moments] == [price(second, at) for at in moments]
    assert [price(first, at) for at in moments] != [price(other, at) for at in moments]


def test_demand_peaks_in_each_regions_afternoon() -> None:
    model = PriceModel(3, clock=lambda: 0.0, epoch=EPOCH)
    days = range(7)
    # 15:00 in Texas is 21:00 UTC; 03:00 there is 09:00 UTC. Tokyo is 15 hours ahead of Texas.
    texas_afternoon = [price(model, EPOCH + day * DAY_SECONDS + 21 * 3600) for day in days]
    texas_night = [price(model, EPOCH + day * DAY_SECONDS + 9 * 3600) for day in days]
    tokyo_afternoon = [price(model, EPOCH + day * DAY_SECONDS + 6 * 3600, "Japan, JP") for day in days]
    tokyo_night = [price(model, EPOCH + day * DAY_SECONDS + 18 * 3600, "Japan, JP") for day in days]
    assert statistics.mean(texas_afternoon) > 1.1 * statistics.mean(texas_night)
    assert statistics.mean(tokyo_afternoon) > 1.1 * statistics.mean(tokyo_night)


def test_a_random_walk_has_no_daily_cycle_and_wanders() -> None:
    model = PriceModel(3, clock=lambda: 0.0, epoch=EPOCH, dynamics=PriceDynamics.RANDOM_WALK)
    hourly = [price(model, EPOCH + hour * 3600) for hour in range(24 * 7)]
    assert len(set(hourly)) > 100
    assert max(hourly) / min(hourly) > 1.1


def test_a_fast_clock_makes_a_day_pass_in_a_minute() -> None:
    now = [0.0]
    model = PriceModel(3, clock=lambda: now[0], epoch=EPOCH, speed=DAY_SECONDS / 60)
    now[0] = 60.0
    assert model.now() == EPOCH + DAY_SECONDS
    with model.pinned_at(EPOCH - DAY_SECONDS):
        assert model.now() == EPOCH - DAY_SECONDS
    assert model.now() == EPOCH + DAY_SECONDS


def test_offers_are_priced_when_the_market_is_looked_at_and_bids_go_for_less() -> None:
    now = [0.0]
    model = PriceModel(5, clock=lambda: now[0], epoch=EPOCH)
    market = SimulatedMarket(
        seed=5, boot_seconds=(1, 2), action_seconds=(1, 2), clock=lambda: now[0], prices=model
    )
    before = {offer["id"]: offer["dph_total"] for offer in market.offers()}
    now[0] += 6 * 3600
    after = market.offers()
    assert sum(before[offer["id"]] != offer["dph_total"] for offer in after) > len(after) // 2
    assert all(offer["min_bid"] < offer["dph_total"] for offer in after)
    with model.pinned_at(EPOCH - DAY_SECONDS):
        yesterday = {offer["id"]: offer["dph_total"] for offer in market.offers()}
    assert yesterday != {offer["id"]: offer["dph_total"] for offer in after}


def log_ratio(model: PriceModel, first: str, second: str, at: float) -> float:
    """How two GPU types' prices compare for the same offer and place at one moment: the daily cycle and
    the offer's noise are the same for both, so only their trends and shocks remain."""
    prices = [
        model.price_of(start_price=1.0, offer_id=1, gpu_name=gpu, geolocation="Texas, US", at=at)
        for gpu in (first, second)
    ]
    return math.log(prices[0] / prices[1])


def test_each_gpu_type_follows_a_trend_of_its_own() -> None:
    model = PriceModel(3, clock=lambda: 0.0, epoch=EPOCH)
    # Daily, over the trends' forty-day period.
    apart = [log_ratio(model, "RTX 4090", "A100 SXM4", EPOCH + day * DAY_SECONDS) for day in range(40)]
    assert max(apart) - min(apart) > 0.05  # they drift more than 5% apart and back
    again = PriceModel(3, clock=lambda: 0.0, epoch=EPOCH)
    assert apart == [
        log_ratio(again, "RTX 4090", "A100 SXM4", EPOCH + day * DAY_SECONDS) for day in range(40)
    ]


def test_shocks_move_a_gpu_types_price_within_an_hour_and_fade_within_hours() -> None:
    model = PriceModel(3, clock=lambda: 0.0, epoch=EPOCH)
    hours = [EPOCH + hour * 3600 for hour in range(24 * 30)]
    series = [log_ratio(model, "RTX 4090", "A100 SXM4", at) for at in hours]
    steps = [abs(after - before) for before, after in itertools.pairwise(series)]
    # A trend moves prices well under 1% an hour; a shock moves them several percent at once.
    assert sum(step > 0.03 for step in steps) >= 3
    biggest = max(range(len(steps)), key=lambda hour: steps[hour])
    jump = series[biggest + 1] - series[biggest]
    twelve_hours_on = series[biggest + 13] - series[biggest]
    assert abs(twelve_hours_on) < abs(jump) / 3
