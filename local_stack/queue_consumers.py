"""What Lambda's SQS event source mappings do, which moto keeps but never runs: each function that
consumes a queue is handed batches of its messages, and the messages it did not report as failed
(`batchItemFailures`) are deleted. A failed message stays in the queue, to be handed over again once its
visibility timeout passes, and goes to the queue's dead-letter queue after its maximum receives."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

BATCH_SIZE = 10
IDLE_SECONDS = 0.5
"""How long a consumer waits after finding its queue empty: deliveries are picked up within it, and an
idle stack asks moto for messages a few times a second, not dozens."""


class QueueConsumer:
    """Polls one queue and invokes one function with what it receives, until stopped."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        invoke: Callable[[str, Any], Any],
        function_name: str,
        region: str,
    ) -> None:
        self._sqs, self._url, self._arn, self._region = sqs, queue_url, queue_arn, region
        self._invoke, self._function_name = invoke, function_name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"queue-{function_name}", daemon=True)

    def start(self) -> QueueConsumer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self.poll()
            except Exception:
                logger.exception("Consuming %s failed", self._url)
                handled = 0
            if not handled:
                self._stop.wait(IDLE_SECONDS)

    def poll(self) -> int:
        """Receive one batch and hand it to the function; how many messages there were."""
        received = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=BATCH_SIZE,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        try:
            answer = self._invoke(self._function_name, {"Records": [self._record(m) for m in received]})
        except Exception:
            # The whole batch failed: every message comes back after its visibility timeout.
            logger.exception("%s failed on a batch of %s", self._function_name, self._url)
            return len(received)
        failed = {item["itemIdentifier"] for item in (answer or {}).get("batchItemFailures", [])}
        done = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(received)
            if message["MessageId"] not in failed
        ]
        if done:
            self._sqs.delete_message_batch(QueueUrl=self._url, Entries=done)
        return len(received)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": self._region,
        }
