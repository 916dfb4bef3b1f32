"""The webhook functions read their queues through event source mappings that report partial batch
failures, and only the functions that queue or send deliveries may reach those queues."""

from __future__ import annotations

from datetime import timedelta

from dumont_core.platform.settings import WebhookSettings
from dumont_core.webhooks.retries import Backoff
from infra.topology import FUNCTIONS, WEBHOOK_DELIVERIES_QUEUE_NAME, WEBHOOK_SENDER_FUNCTION
from tests.integration.infra.template import Synthesized


def _queue_ids(synthesized: Synthesized) -> dict[str, str]:
    return {
        queue["Properties"]["QueueName"]: key for key, queue in synthesized.of_type("AWS::SQS::Queue").items()
    }


def test_each_consumer_reads_its_queue_reporting_the_messages_it_failed_on(synthesized: Synthesized) -> None:
    queues = _queue_ids(synthesized)
    functions = synthesized.functions_by_handler()
    mappings = {
        mapping["Properties"]["FunctionName"]["Ref"]: mapping["Properties"]
        for mapping in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
    }
    consumers = [spec for spec in FUNCTIONS if spec.consumes_queue is not None]
    assert len(mappings) == len(consumers) == 2
    for spec in consumers:
        function_id, _ = functions[spec.handler]
        mapping = mappings[function_id]
        assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queues[spec.consumes_queue], "Arn"]}
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_queue_urls_are_given_to_the_functions_that_use_them(synthesized: Synthesized) -> None:
    queues = _queue_ids(synthesized)
    for spec in FUNCTIONS:
        _, props = synthesized.functions_by_handler()[spec.handler]
        env = props["Environment"]["Variables"]
        assert ("WEBHOOK_DELIVERY_QUEUE_URL" in env) is spec.queues_webhooks, spec.name
        assert ("WEBHOOK_DEAD_LETTER_QUEUE_URL" in env) is spec.sends_webhooks, spec.name
        if spec.queues_webhooks:
            assert env["WEBHOOK_DELIVERY_QUEUE_URL"] == {"Ref": queues[WEBHOOK_DELIVERIES_QUEUE_NAME]}
        assert "WEBHOOK_ALLOW_LOOPBACK" not in env and "WEBHOOK_ALLOW_HTTP" not in env, "https, public only"
    assert [spec.name for spec in FUNCTIONS if spec.sends_webhooks] == [WEBHOOK_SENDER_FUNCTION.name]


def test_the_sender_knows_the_receives_its_queue_allows_and_they_outlast_a_days_retries(
    synthesized: Synthesized,
) -> None:
    queues = synthesized.of_type("AWS::SQS::Queue")
    deliveries = queues[_queue_ids(synthesized)[WEBHOOK_DELIVERIES_QUEUE_NAME]]["Properties"]
    allowed = deliveries["RedrivePolicy"]["maxReceiveCount"]
    _, sender = synthesized.functions_by_handler()[WEBHOOK_SENDER_FUNCTION.handler]
    assert sender["Environment"]["Variables"]["WEBHOOK_DELIVERY_MAX_RECEIVES"] == str(allowed)
    settings = WebhookSettings.model_fields
    backoff = Backoff(
        settings["webhook_retry_base_seconds"].default, settings["webhook_retry_max_seconds"].default
    )
    day = timedelta(hours=settings["webhook_give_up_hours"].default)
    assert allowed > backoff.attempts_within(day, at_most=1000) + 1, "the sender gives up by the clock first"
