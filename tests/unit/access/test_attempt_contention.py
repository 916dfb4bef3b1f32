"""Concurrent attempts on one counter refuse each other's transactions (TransactionConflict): an attempt
is tried again a few times, and refused as one too many, never let through, if the contention lasts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dumont_core.access import attempts
from dumont_core.access.attempts import AttemptLimit, AttemptRepository, AttemptsRefused, Counter

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
COUNTERS = [Counter("login-account", "someone@example.com", AttemptLimit(10, 900))]


class ContendedTable:
    """Answers `conflicts` transactions with TransactionConflict, then lets them through."""

    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.calls = 0

    def transact_write_items(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.conflicts:
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [{"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )
        return {}


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(conflicts: int) -> ContendedTable:
        contended = ContendedTable(conflicts)
        monkeypatch.setattr(attempts, "aws_client", lambda _service: contended)
        monkeypatch.setattr(attempts, "bound_table", lambda: "table")
        monkeypatch.setattr(attempts.time, "sleep", lambda _seconds: None)
        return contended

    return install


def test_a_passing_conflict_is_tried_again(table: Any) -> None:
    contended = table(conflicts=2)
    reservation = AttemptRepository().reserve(COUNTERS, NOW)
    assert len(reservation.keys) == 1
    assert contended.calls == 3


def test_lasting_contention_refuses_the_attempt(table: Any) -> None:
    contended = table(conflicts=100)
    with pytest.raises(AttemptsRefused) as refused:
        AttemptRepository().reserve(COUNTERS, NOW)
    assert refused.value.retry_after == 1
    assert contended.calls == 4
