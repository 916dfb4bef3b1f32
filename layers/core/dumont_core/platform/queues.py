"""Sending messages to an SQS queue, ten to a request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from dumont_core.platform.aws import aws_client

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

_MAX_ENTRIES_PER_CALL = 10


class QueueRefused(RuntimeError):
    """SQS did not take some of the messages."""


class SqsQueue:
    def __init__(self, queue_url: str) -> None:
        self.url = queue_url

    def enqueue(self, messages: Sequence[BaseModel]) -> None:
        for start in range(0, len(messages), _MAX_ENTRIES_PER_CALL):
            batch = messages[start : start + _MAX_ENTRIES_PER_CALL]
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(index), "MessageBody": message.model_dump_json()}
                for index, message in enumerate(batch)
            ]
            answer = aws_client("sqs").send_message_batch(QueueUrl=self.url, Entries=entries)
            if answer.get("Failed"):
                raise QueueRefused(f"SQS refused {len(answer['Failed'])} messages: {answer['Failed'][0]}")

    def retry_later(self, receipt_handle: str, seconds: float) -> None:
        """Make a received message visible again after `seconds` (at most 12 hours)."""
        aws_client("sqs").change_message_visibility(
            QueueUrl=self.url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=min(43200, max(0, round(seconds))),
        )
