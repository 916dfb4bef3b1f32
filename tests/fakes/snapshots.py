"""Snapshot records in a dict, and an S3 that holds every chunk a snapshot lists."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from dumont_core.snapshots.models import Snapshot

CHUNKS = ["a" * 64, "b" * 64]


class MemorySnapshots:
    def __init__(self) -> None:
        self.items: dict[str, Snapshot] = {}

    def create(self, snapshot: Snapshot) -> None:
        self.items[snapshot.snapshot_id] = snapshot

    def get(self, team_id: str, snapshot_id: str) -> Snapshot | None:
        return self.items.get(snapshot_id)

    def move(self, snapshot: Snapshot, *, expected: Iterable[str], **changes: Any) -> Snapshot:
        moved = snapshot.model_copy(update=changes)
        self.items[snapshot.snapshot_id] = moved
        return moved

    def lease_held(self, team_id: str, now: datetime) -> bool:
        return False

    def digests(self, team_id: str, snapshot_id: str) -> list[str]:
        return list(CHUNKS)

    def manifest_exists(self, team_id: str, snapshot_id: str) -> bool:
        return True

    def stored_chunks(self, team_id: str) -> set[str]:
        return set(CHUNKS)
