"""Every domain event's schema is in the EventBridge schema registry, as a draft 4 schema of the whole
event that its example validates against; and a consumer's rule on `detail-type` receives each event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import jsonschema
import pytest
from moto import mock_aws

from infra.components.event_schemas import REGISTRY_NAME, catalog, eventbridge_schema, schema_name
from infra.topology import EVENT_BUS_NAME
from tests.integration.infra.template import Synthesized

CATALOG = catalog()


def test_the_registry_holds_one_schema_per_event(synthesized: Synthesized) -> None:
    (registry,) = synthesized.of_type("AWS::EventSchemas::Registry").values()
    assert registry["Properties"]["RegistryName"] == REGISTRY_NAME
    schemas = {
        schema["Properties"]["SchemaName"]: schema["Properties"]
        for schema in synthesized.of_type("AWS::EventSchemas::Schema").values()
    }
    assert set(schemas) == {schema_name(event) for event in CATALOG}
    for event, detail_schema in CATALOG.items():
        published = schemas[schema_name(event)]
        assert published["Type"] == "JSONSchemaDraft4"
        assert json.loads(published["Content"]) == eventbridge_schema(detail_schema)


@pytest.mark.parametrize("event", sorted(CATALOG))
def test_each_published_schema_is_draft_4_and_takes_its_example_as_an_event(event: str) -> None:
    schema = eventbridge_schema(CATALOG[event])
    jsonschema.Draft4Validator.check_schema(schema)
    (example,) = CATALOG[event]["examples"]
    as_received = {"detail-type": event, "source": "dumont.instances", "detail": example}
    assert list(jsonschema.Draft4Validator(schema).iter_errors(as_received)) == []
    wrong = {**as_received, "detail": {**example, "event": "instance.exploded"}}
    assert list(jsonschema.Draft4Validator(schema).iter_errors(wrong)) != []


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


@pytest.mark.usefixtures("aws")
def test_a_consumer_queue_with_a_detail_type_pattern_receives_each_event_type() -> None:
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    events.create_event_bus(Name=EVENT_BUS_NAME)
    queues: dict[str, str] = {}
    for event in CATALOG:
        url = sqs.create_queue(QueueName=f"consumer-{event.replace('.', '-')}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = f"consume-{event.replace('.', '-')}"
        pattern = {"source": [{"prefix": "dumont."}], "detail-type": [event]}
        events.put_rule(Name=rule, EventBusName=EVENT_BUS_NAME, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=rule, EventBusName=EVENT_BUS_NAME, Targets=[{"Id": "queue", "Arn": arn}])
        queues[event] = url
    entries: list[Any] = [
        {
            "Source": "dumont.webhooks" if event.startswith("webhook.") else "dumont.instances",
            "DetailType": event,
            "Detail": json.dumps(schema["examples"][0]),
            "EventBusName": EVENT_BUS_NAME,
        }
        for event, schema in CATALOG.items()
    ]
    for start in range(0, len(entries), 10):
        assert events.put_events(Entries=entries[start : start + 10])["FailedEntryCount"] == 0

    for event, url in queues.items():
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert [json.loads(message["Body"])["detail-type"] for message in messages] == [event]
        (received,) = messages
        as_received = json.loads(received["Body"])
        schema = eventbridge_schema(CATALOG[event])
        assert list(jsonschema.Draft4Validator(schema).iter_errors(as_received)) == []
