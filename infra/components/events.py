"""The domain event bus, and the queue its events are copied to for the webhook fan-out."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.topology import DOMAIN_EVENT_SOURCE_PREFIX, DOMAIN_EVENTS_QUEUE_NAME, EVENT_BUS_NAME


class DomainEvents(Construct):
    """Bus `dumont`; every event whose source starts with `dumont.` lands on the `domain-events` queue.

    One dead-letter queue takes both what EventBridge could not deliver to the queue and what the
    queue's consumer failed on `max_receive_count` times: either way a domain event was not handled.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=EVENT_BUS_NAME)

        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=f"{DOMAIN_EVENTS_QUEUE_NAME}-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=DOMAIN_EVENTS_QUEUE_NAME,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(4),
            visibility_timeout=Duration.minutes(2),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=5),
        )
        self.rule = events.Rule(
            self,
            "ToQueue",
            description="Copies every Dumont Cloud domain event to the domain-events queue",
            event_bus=self.bus,
            event_pattern=events.EventPattern(source=events.Match.prefix(DOMAIN_EVENT_SOURCE_PREFIX)),
            targets=[
                targets.SqsQueue(
                    self.queue,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=10,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
