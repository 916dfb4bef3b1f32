"""Reads the domain-events queue (every event on the bus): writes one delivery per webhook subscription
that wants the event, and queues it for the sender. A message that fails is handed over again by SQS;
its deliveries keep their ids, so receivers see it once per delivery id."""

from dumont_core.platform.coldstart import first_call_long_lived, long_lived

with long_lived():
    import json
    from typing import Any

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dumont_core import composition
    from dumont_core.platform.observability import observed
    from dumont_core.platform.settings import WebhookFanOutSettings, load_settings

    logger = Logger()
    # Checked at cold start: a missing variable stops the function before its first run.
    load_settings(WebhookFanOutSettings)
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def fan_out(record: SQSRecord) -> None:
    event = json.loads(record.body)
    deliveries = composition.webhooks().fan_out(str(event["id"]), event["detail"])
    if deliveries:
        logger.info(
            "Deliveries queued",
            extra={"event": event["detail"].get("event"), "deliveries": [d.delivery_id for d in deliveries]},
        )


@first_call_long_lived
@observed(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=fan_out, processor=processor, context=context)
