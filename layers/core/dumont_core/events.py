"""Publishing domain events on the EventBridge bus.

The bus detail is the webhook payload users receive: `{"event", "timestamp", "data"}` (seeds 001
and 003), with ownership alongside so consumers can route per account and team. The JSON shape of
every event is documented in `events/domain/`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from aws_lambda_powertools import Logger

from dumont_core.aws_clients import aws_client
from dumont_core.models import InstanceEvent
from dumont_core.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

logger = Logger(child=True)

EVENT_SOURCE = "dumont.instances"
_MAX_ENTRIES_PER_CALL = 10


class EventPublisher(Protocol):
    def publish(self, events: Sequence[InstanceEvent]) -> None: ...


def bus_detail(event: InstanceEvent) -> dict[str, Any]:
    return {
        "event": event.type.value,
        "timestamp": event.timestamp.isoformat().replace("+00:00", "Z"),
        "account_id": event.account_id,
        "team_id": event.team_id,
        "data": {"instance_id": event.instance_id, **event.details},
    }


class EventBridgePublisher:
    def __init__(self, client: EventBridgeClient | None, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    @classmethod
    def from_settings(cls, settings: Settings) -> EventBridgePublisher:
        # The client is made on first publish: read-only requests never pay for creating it.
        return cls(None, settings.event_bus_name)

    @property
    def client(self) -> EventBridgeClient:
        if self._client is None:
            self._client = cast("EventBridgeClient", aws_client("events"))
        return self._client

    def publish(self, events: Sequence[InstanceEvent]) -> None:
        """Put the events on the bus. The timeline in DynamoDB is already written, so a failure
        here is logged loudly for replay rather than undoing the state change."""
        for start in range(0, len(events), _MAX_ENTRIES_PER_CALL):
            batch = events[start : start + _MAX_ENTRIES_PER_CALL]
            entries: list[PutEventsRequestEntryTypeDef] = [
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": event.type.value,
                    "Detail": json.dumps(bus_detail(event)),
                    "EventBusName": self._bus_name,
                    "Resources": [],
                }
                for event in batch
            ]
            response = self.client.put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                failed = [
                    {"event": event.type.value, "instance_id": event.instance_id, **result}
                    for event, result in zip(batch, response["Entries"], strict=True)
                    if result.get("ErrorCode")
                ]
                logger.error("Some domain events were not published", extra={"failed": failed})


class InMemoryPublisher:
    """Collects events; for tests of domain logic that need no bus."""

    def __init__(self) -> None:
        self.published: list[InstanceEvent] = []

    def publish(self, events: Sequence[InstanceEvent]) -> None:
        self.published.extend(events)
