"""Machines' logs in CloudWatch Logs: one group for all instances, one stream per instance."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from dumont_core.agents.models import LogLine
from dumont_core.platform.aws import aws_client

# CloudWatch Logs takes at most 10,000 events and 1 MiB per call, each event counted 26 bytes larger.
MAX_EVENTS_PER_CALL = 10_000
MAX_BYTES_PER_CALL = 1_048_576 - 4_096
EVENT_OVERHEAD_BYTES = 26


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class InstanceLogs:
    def __init__(self, group: str) -> None:
        self._group = group

    def append(self, instance_id: str, lines: list[LogLine]) -> int:
        """Store lines in the instance's stream, oldest first, in as few calls as the limits allow."""
        logs = aws_client("logs")
        events = [
            {"timestamp": _millis(line.timestamp), "message": line.message}
            for line in sorted(lines, key=lambda line: line.timestamp)
        ]
        for batch in _batches(events):
            try:
                logs.put_log_events(logGroupName=self._group, logStreamName=instance_id, logEvents=batch)
            except logs.exceptions.ResourceNotFoundException:
                self._create_stream(instance_id)
                logs.put_log_events(logGroupName=self._group, logStreamName=instance_id, logEvents=batch)
        return len(events)

    def tail(self, instance_id: str, lines: int, since: datetime | None) -> list[LogLine]:
        """The last `lines` lines of the instance's stream, after `since` if given, oldest first."""
        request: dict[str, Any] = {
            "logGroupName": self._group,
            "logStreamName": instance_id,
            "limit": lines,
            "startFromHead": False,
        }
        if since is not None:
            request["startTime"] = _millis(since)
        try:
            events = aws_client("logs").get_log_events(**request)["events"]
        except aws_client("logs").exceptions.ResourceNotFoundException:
            return []
        return [
            LogLine(
                timestamp=datetime.fromtimestamp(event["timestamp"] / 1000, tz=UTC), message=event["message"]
            )
            for event in events[-lines:]
        ]

    def _create_stream(self, instance_id: str) -> None:
        logs = aws_client("logs")
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=self._group, logStreamName=instance_id)


def _batches(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for event in events:
        event_size = len(event["message"].encode()) + EVENT_OVERHEAD_BYTES
        if current and (len(current) >= MAX_EVENTS_PER_CALL or size + event_size > MAX_BYTES_PER_CALL):
            batches.append(current)
            current, size = [], 0
        current.append(event)
        size += event_size
    if current:
        batches.append(current)
    return batches
