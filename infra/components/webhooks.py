"""The queue of webhook deliveries and its dead-letter queue, and the functions' hold on them: the fan-out
reads the domain-events queue, the sender this one, each through an event source mapping that reports
partial batch failures."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.topology import WEBHOOK_DELIVERIES_MAX_RECEIVES, WEBHOOK_DELIVERIES_QUEUE_NAME, FunctionSpec

# Names the settings models read (dumont_core.platform.settings.WebhookSettings and WebhookSenderSettings).
DELIVERY_QUEUE_URL_ENV = "WEBHOOK_DELIVERY_QUEUE_URL"
DEAD_LETTER_QUEUE_URL_ENV = "WEBHOOK_DEAD_LETTER_QUEUE_URL"
MAX_RECEIVES_ENV = "WEBHOOK_DELIVERY_MAX_RECEIVES"
BATCH_SIZE = 10


class WebhookDeliveries(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=f"{WEBHOOK_DELIVERIES_QUEUE_NAME}-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=WEBHOOK_DELIVERIES_QUEUE_NAME,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # Longer than the retry period: a delivery waiting for its next attempt is never dropped.
            retention_period=Duration.days(4),
            # Six times the sender's timeout, as Lambda advises for a queue it reads.
            visibility_timeout=Duration.minutes(12),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=WEBHOOK_DELIVERIES_MAX_RECEIVES
            ),
        )

    def connect(
        self, spec: FunctionSpec, function: lambda_.Function, queues: Mapping[str, sqs.IQueue]
    ) -> None:
        """Give `function` what its spec says it does with webhook deliveries, and its queue to read."""
        if spec.queues_webhooks:
            self.queue.grant_send_messages(function)
            function.add_environment(DELIVERY_QUEUE_URL_ENV, self.queue.queue_url)
        if spec.sends_webhooks:
            # Delays a failed delivery's next attempt by changing its message's visibility.
            self.queue.grant(function, "sqs:ChangeMessageVisibility")
            self.dead_letters.grant_send_messages(function)
            function.add_environment(DEAD_LETTER_QUEUE_URL_ENV, self.dead_letters.queue_url)
            function.add_environment(MAX_RECEIVES_ENV, str(WEBHOOK_DELIVERIES_MAX_RECEIVES))
        if spec.consumes_queue is not None:
            function.add_event_source(
                event_sources.SqsEventSource(
                    queues[spec.consumes_queue],
                    batch_size=BATCH_SIZE,
                    max_batching_window=Duration.seconds(1),
                    report_batch_item_failures=True,
                )
            )
