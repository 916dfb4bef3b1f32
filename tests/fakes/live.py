"""Live connections kept in a dict with the repository's contract, and a publisher that records what it
pushed, with connections that are gone or that fail."""

from __future__ import annotations

from dumont_core.live.models import LiveConnection


class MemoryConnections:
    def __init__(self) -> None:
        self.kept: dict[str, LiveConnection] = {}

    def add(self, connection: LiveConnection) -> bool:
        if connection.connection_id in self.kept:
            return False
        self.kept[connection.connection_id] = connection
        return True

    def find(self, connection_id: str) -> LiveConnection | None:
        return self.kept.get(connection_id)

    def remove(self, connection_id: str) -> bool:
        return self.kept.pop(connection_id, None) is not None


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.gone: set[str] = set()
        self.failing: set[str] = set()

    def send(self, connection_id: str, message: bytes) -> bool:
        if connection_id in self.failing:
            raise TimeoutError("the Management API did not answer")
        if connection_id in self.gone:
            return False
        self.sent.append((connection_id, message))
        return True
