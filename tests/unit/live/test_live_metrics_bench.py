"""The bench's live metrics section fails when a client misses a heartbeat, whatever else it received."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.live_metrics import LiveLoad, Watcher, _matched, render

T0 = datetime(2026, 12, 2, 8, 0, 0, 600_000, tzinfo=UTC)
HEARTBEATS = [T0 + timedelta(seconds=1.2 * n) for n in range(5)]


def _watcher(received: list[datetime]) -> Watcher:
    socket: Any = None
    watcher = Watcher(socket)
    # Pushed a moment after each heartbeat, so its timestamp may be the next second's.
    watcher.received = [
        ((at + timedelta(seconds=0.5)).strftime("%Y-%m-%dT%H:%M:%SZ"), at.timestamp() + 0.5)
        for at in received
    ]
    return watcher


def test_every_heartbeat_received_is_matched_once_with_its_latency() -> None:
    latencies = _matched(HEARTBEATS, _watcher(HEARTBEATS), since=0)

    assert len(latencies) == len(HEARTBEATS)
    assert all(abs(latency - 0.5) < 1e-6 for latency in latencies)


def test_a_missed_heartbeat_fails_the_bench() -> None:
    received = [
        len(_matched(HEARTBEATS, _watcher(HEARTBEATS), 0)),
        len(_matched(HEARTBEATS, _watcher(HEARTBEATS[:2] + HEARTBEATS[3:]), 0)),
    ]
    load = LiveLoad(
        clients=2, heartbeats=len(HEARTBEATS), received=received, latencies=[0.5] * 9, watched_seconds=6
    )

    report, within = render(load)

    assert received == [5, 4]
    assert not within
    assert "missed, all clients:       1" in report


def test_messages_from_before_the_clients_all_watched_do_not_count() -> None:
    early = _watcher([T0 - timedelta(seconds=3), *HEARTBEATS[1:]])

    assert len(_matched(HEARTBEATS, early, since=T0.timestamp())) == len(HEARTBEATS) - 1
