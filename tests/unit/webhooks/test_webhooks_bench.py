"""The bench's webhook section fails unless every event reaches every subscriber under one delivery id,
once: a repeated arrival, a missed event or a down subscriber that never catches up each fail it."""

from __future__ import annotations

from benchmarks.webhooks import render, tally

SENT_AT = 1_000.0


def arrivals(numbers: list[int], after: float = 0.5) -> list[tuple[str, int, float, float]]:
    return [(f"dlv_{number}", number, SENT_AT, SENT_AT + after) for number in numbers]


def test_each_subscriber_receiving_each_event_once_is_within_target() -> None:
    load = tally(3, [arrivals([0, 1, 2], after=90.0), arrivals([0, 1, 2]), arrivals([2, 1, 0])], 60.0, 4.0)

    report, within = render(load)

    assert within
    assert (load.delivered, load.events_received, load.duplicates) == ([3, 3, 3], [3, 3, 3], 0)
    assert load.latencies == [0.5] * 6, "the down subscriber's wait is not a delivery latency"
    assert "within target" in report


def test_a_delivery_id_arriving_twice_fails_the_target() -> None:
    again = arrivals([0, 1, 2, 1], after=0.5)
    again[3] = ("dlv_1", 1, SENT_AT, SENT_AT + 7.0)

    load = tally(3, [arrivals([0, 1, 2]), again], 60.0, 4.0)
    report, within = render(load)

    assert load.duplicates == 1
    assert load.delivered == [3, 3]
    assert load.latencies.count(7.0) == 0, "a latency counts the first arrival only"
    assert not within
    assert "MISSED: 1 delivery ids arrived more than once" in report


def test_a_missed_event_or_a_subscriber_that_never_caught_up_fails_the_target() -> None:
    missing, _ = render(tally(3, [arrivals([0, 1, 2]), arrivals([0, 2])], 60.0, 4.0))
    never, within = render(tally(3, [arrivals([0, 1]), arrivals([0, 1, 2])], 60.0, None))

    assert "MISSED: not every event reached every subscriber" in missing
    assert not within
    assert "the down subscriber never caught up" in never
    assert "caught up in:     never" in never
