"""Reads the webhook-deliveries queue: POSTs each delivery to its receiver and records the outcome. A
delivery that failed is reported as a failure of its message, made visible again only after its backoff
(so SQS hands it over then); one that failed for the whole retry period, or at the last receive but one
its queue allows, goes to the dead-letter queue, recorded as failed."""

from dumont_core.platform.coldstart import first_call_long_lived, long_lived

with long_lived():
    from typing import Any

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dumont_core import composition
    from dumont_core.platform.observability import observed
    from dumont_core.platform.settings import WebhookSendingSettings, load_settings
    from dumont_core.webhooks.models import DeliveryRef

    logger = Logger()
    # Checked at cold start: a missing variable stops the function before its first run.
    load_settings(WebhookSendingSettings)
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class RetryLater(Exception):
    """The delivery failed; its message comes back after the backoff."""


def send(record: SQSRecord) -> None:
    ref = DeliveryRef.model_validate_json(record.body)
    wait = composition.delivery_sender().send(ref, int(record.attributes.approximate_receive_count))
    if wait is not None:
        composition.delivery_queue().retry_later(record.receipt_handle, wait)
        raise RetryLater(f"{ref.delivery_id} is tried again in {wait:g} s")


@first_call_long_lived
@observed(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=send, processor=processor, context=context)
