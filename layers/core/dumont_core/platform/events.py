"""Publishing domain events on the EventBridge bus.

The bus detail is `{"event", "timestamp", "account_id", "team_id", "data"}`: ownership alongside, so
consumers can route per account and team. A webhook receives the detail without its ownership,
`{"event", "timestamp", "data"}` (seeds 001 and 003; `dumont_core.webhooks.service.payload`). The JSON
shape of every event's detail is documented in `events/domain/`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from aws_lambda_powertools import Logger
from pydantic import Field

from dumont_core.platform.aws import aws_client
from dumont_core.platform.clock import utc_now
from dumont_core.platform.models import DomainModel

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

logger = Logger(child=True)

_MAX_ENTRIES_PER_CALL = 10


class DomainEvent(DomainModel):
    """Something that happened, told to whoever listens on the bus."""

    source: ClassVar[str]
    """The EventBridge source of a domain's events, `dumont.<domain>`."""

    type: str
    account_id: str
    team_id: str
    timestamp: datetime = Field(default_factory=utc_now)

    def data(self) -> dict[str, Any]:
        raise NotImplementedError

    def bus_detail(self) -> dict[str, Any]:
        return {
            "event": self.type,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "account_id": self.account_id,
            "team_id": self.team_id,
            "data": self.data(),
        }


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


class EventBridgePublisher:
    def __init__(self, bus_name: str) -> None:
        self._bus_name = bus_name

    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Put the events on the bus. What they record is already written, so a failure here is logged
        loudly for replay rather than undoing the change."""
        for start in range(0, len(events), _MAX_ENTRIES_PER_CALL):
            batch = events[start : start + _MAX_ENTRIES_PER_CALL]
            entries: list[PutEventsRequestEntryTypeDef] = [
                {
                    "Source": event.source,
                    "DetailType": event.type,
                    "Detail": json.dumps(event.bus_detail()),
                    "EventBusName": self._bus_name,
                    "Resources": [],
                }
                for event in batch
            ]
            # The client is made on first publish: read-only requests never pay for creating it.
            response = aws_client("events").put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                failed = [
                    {"event": event.type, **event.data(), **result}
                    for event, result in zip(batch, response["Entries"], strict=True)
                    if result.get("ErrorCode")
                ]
                logger.error("Some domain events were not published", extra={"failed": failed})
