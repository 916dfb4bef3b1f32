"""What counts as idle: heartbeats that cover the whole window, none further apart than the gap allowed
(two and a half heartbeat intervals), each reporting the GPU under the threshold. A machine that stops
reporting, or reports no GPU reading, is never taken for idle: hibernating it would stop someone's work."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dumont_core.instances.models import MetricPoint
from dumont_core.serverless.service import is_idle
from tests.fakes.clock import START

HEARTBEAT = 5.0
MAX_GAP = timedelta(seconds=HEARTBEAT * 2.5)
THRESHOLD = 5.0
WINDOW = timedelta(minutes=1)
TINY = timedelta(microseconds=1)


def point(at: datetime, gpu: float | None = 1.0) -> MetricPoint:
    return MetricPoint(timestamp=at, values={"gpu_utilization": gpu, "cpu_utilization": 3.0}, samples=1)


def every_heartbeat(start: datetime, until: datetime, gpu: float | None = 1.0) -> list[MetricPoint]:
    points, at = [], start
    while at <= until:
        points.append(point(at, gpu))
        at += timedelta(seconds=HEARTBEAT)
    return points


def idle(points: list[MetricPoint], start: datetime = START, now: datetime = START + WINDOW) -> bool:
    return is_idle(points, start, now, THRESHOLD, HEARTBEAT)


def test_heartbeats_all_under_the_threshold_over_the_whole_window_are_idle() -> None:
    assert idle(every_heartbeat(START, START + WINDOW))


def test_no_heartbeat_at_all_is_not_idle() -> None:
    assert not idle([])


@pytest.mark.parametrize("busy", [THRESHOLD, THRESHOLD + 0.1, 100.0])
def test_one_reading_at_or_over_the_threshold_anywhere_keeps_it_awake(busy: float) -> None:
    points = every_heartbeat(START, START + WINDOW)
    for index in (0, len(points) // 2, len(points) - 1):
        changed = list(points)
        changed[index] = point(changed[index].timestamp, busy)
        assert not idle(changed), f"busy at heartbeat {index}"


def test_a_reading_just_under_the_threshold_is_idle() -> None:
    assert idle(every_heartbeat(START, START + WINDOW, gpu=THRESHOLD - 0.01))


def test_a_heartbeat_without_a_gpu_reading_keeps_it_awake() -> None:
    points = every_heartbeat(START, START + WINDOW)
    middle = len(points) // 2
    points[middle] = point(points[middle].timestamp, None)
    assert not idle(points)
    assert not idle(every_heartbeat(START, START + WINDOW, gpu=None))


def test_a_gap_in_the_middle_of_the_window_keeps_it_awake_past_two_and_a_half_intervals() -> None:
    before = every_heartbeat(START, START + timedelta(seconds=20))
    just_allowed = every_heartbeat(before[-1].timestamp + MAX_GAP, START + WINDOW)
    assert idle(before + just_allowed)
    too_late = every_heartbeat(before[-1].timestamp + MAX_GAP + TINY, START + WINDOW)
    assert not idle(before + too_late)


def test_the_first_heartbeat_must_come_soon_after_the_window_starts() -> None:
    assert idle(every_heartbeat(START + MAX_GAP, START + WINDOW))
    assert not idle(every_heartbeat(START + MAX_GAP + TINY, START + WINDOW))


def test_the_last_heartbeat_must_be_recent() -> None:
    points = every_heartbeat(START, START + WINDOW)
    last = points[-1].timestamp
    assert idle(points, now=last + MAX_GAP)
    assert not idle(points, now=last + MAX_GAP + TINY), "the agent fell silent at the end of the window"


def test_a_late_heartbeat_after_a_silence_does_not_make_up_for_it() -> None:
    points = every_heartbeat(START, START + timedelta(seconds=15))
    late = every_heartbeat(START + timedelta(seconds=45), START + WINDOW)
    assert not idle(points + late)


def test_duplicate_heartbeats_count_once_and_do_not_hide_a_gap() -> None:
    points = every_heartbeat(START, START + WINDOW)
    doubled = sorted(points + points, key=lambda each: each.timestamp)
    assert idle(doubled)
    gap = every_heartbeat(START, START + timedelta(seconds=15)) * 3
    gap += every_heartbeat(START + timedelta(seconds=40), START + WINDOW)
    assert not idle(sorted(gap, key=lambda each: each.timestamp))
