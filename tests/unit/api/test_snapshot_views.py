"""The older documents' snapshot shapes: sizes and speeds for people to read, in the units they name."""

from __future__ import annotations

from datetime import UTC, datetime

from api.snapshots.schemas import human_bytes, snapshot_summary
from dumont_core.snapshots.models import Snapshot


def test_sizes_are_spelt_in_the_decimal_units_their_names_say() -> None:
    assert human_bytes(5_400_000) == "5.4MB"
    assert human_bytes(999) == "999B"
    assert human_bytes(45_000_000_000) == "45.0GB"
    assert human_bytes(None) is None


def test_the_summary_shows_what_the_snapshot_takes_in_storage_and_how_fast_it_uploaded() -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    snapshot = Snapshot(
        snapshot_id="snap_1",
        instance_id="inst_1",
        account_id="acct_1",
        team_id="team_1",
        compression="lz4",
        purpose="manual",
        status="completed",
        size_bytes=20_250_000,
        stored_bytes=5_400_000,
        uploaded_bytes=5_400_000,
        upload_seconds=5_400_000 / 40.1e6,
        created_at=now,
        updated_at=now,
    )

    summary = snapshot_summary(snapshot)

    assert (summary.size, summary.upload_speed, summary.compression_ratio) == ("5.4MB", "40.1MB/s", 3.75)
