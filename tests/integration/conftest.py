"""A real DynamoDB table (moto, in process), a controllable clock, and the settings the steps read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dumont_core.instances.metrics import MetricsRepository
from dumont_core.instances.repository import InstanceRepository
from dumont_core.platform.dynamodb import bind_table
from dumont_core.platform.settings import ProviderSettings
from dumont_core.platform.table import create_table_request
from tests.fakes.api_gateway import LambdaContext
from tests.fakes.clock import Clock
from tests.fakes.events import InMemoryPublisher
from tests.fakes.provider import FakeProvider
from tests.fakes.workflows import RecordingStarter

TABLE_NAME = "dumont-test"
REGION = "us-east-1"
EVENT_RETENTION = timedelta(days=90)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region for moto; no endpoint override, so moto intercepts every call."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("TABLE_NAME", TABLE_NAME)
    monkeypatch.setenv("EVENT_BUS_NAME", "dumont")


@cache
def _dynamodb_client() -> Any:
    # One client for the whole run: building one costs a few tenths of a second, and moto
    # intercepts the calls of any client while a mock is active.
    return boto3.session.Session(region_name=REGION).client("dynamodb")


@pytest.fixture
def dynamodb_table(aws_env: None) -> Iterator[str]:
    with mock_aws():
        _dynamodb_client().create_table(**create_table_request(TABLE_NAME))
        bind_table(TABLE_NAME)
        yield TABLE_NAME


@pytest.fixture
def repository(dynamodb_table: str) -> InstanceRepository:
    return InstanceRepository(event_retention=EVENT_RETENTION)


@pytest.fixture
def readings(dynamodb_table: str) -> MetricsRepository:
    return MetricsRepository(retention=timedelta(days=35))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def publisher() -> InMemoryPublisher:
    return InMemoryPublisher()


@pytest.fixture
def settings() -> ProviderSettings:
    return ProviderSettings.model_validate(
        {
            "BOOT_TIMEOUT_SECONDS": 600,
            "POWER_ACTION_TIMEOUT_SECONDS": 300,
            "MIN_HOST_RELIABILITY": 0.9,
            "SPOT_BID_MARGIN": 0.1,
            "OFFERS_TO_TRY": 3,
        }
    )


API_ENVIRONMENT = {
    "SNAPSHOT_BUCKET": "snapshots-test",
    "JWT_SECRET_ARN": f"arn:aws:secretsmanager:{REGION}:123456789012:secret:dumont-jwt",
    "WEBHOOK_DELIVERY_QUEUE_URL": f"https://sqs.{REGION}.amazonaws.com/123456789012/webhook-deliveries",
    "POWERTOOLS_SERVICE_NAME": "dumont",
    "POWERTOOLS_METRICS_NAMESPACE": "Dumont",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
"""What the API function's settings need besides the table: nothing a route of these tests reaches."""


@dataclass
class ApiFunction:
    """The API function as API Gateway invokes it, over the moto table, with the services a test gives."""

    publisher: InMemoryPublisher
    starter: RecordingStarter

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        from api.handler import lambda_handler

        answer: dict[str, Any] = lambda_handler(event, LambdaContext())
        return answer


@pytest.fixture
def api_function(dynamodb_table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiFunction]:
    from dumont_core import composition
    from dumont_core.platform.settings import WorkflowSettings

    for name, field in WorkflowSettings.model_fields.items():
        if field.is_required() and field.alias:
            monkeypatch.setenv(field.alias, f"arn:aws:states:{REGION}:123456789012:stateMachine:{name}")
    for name, value in API_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    composition.reset()
    function = ApiFunction(publisher=InMemoryPublisher(), starter=RecordingStarter())
    # No offer: a new machine is priced at the instance's own price, and no provider is reached.
    with composition.overridden(
        publisher=function.publisher, workflows=function.starter, gpu_provider=FakeProvider()
    ):
        yield function
    composition.reset()
