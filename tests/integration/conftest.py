"""A real DynamoDB table (moto, in process), a controllable clock, and the settings the steps read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from dumont_core.data.instances import InstanceRepository
from dumont_core.data.table import create_table_request
from dumont_core.events import InMemoryPublisher
from dumont_core.settings import Settings

TABLE_NAME = "dumont-test"
REGION = "us-east-1"
EVENT_RETENTION = timedelta(days=90)
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock that only moves when the test says so."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> datetime:
        self.now += timedelta(seconds=seconds, minutes=minutes, hours=hours)
        return self.now


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
        yield TABLE_NAME


@pytest.fixture
def repository(dynamodb_table: str) -> InstanceRepository:
    # The constructor points the pynamodb models at the table.
    return InstanceRepository(dynamodb_table, event_retention=EVENT_RETENTION)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def publisher() -> InMemoryPublisher:
    return InMemoryPublisher()


@pytest.fixture
def settings() -> Settings:
    return Settings.model_validate(
        {
            "TABLE_NAME": TABLE_NAME,
            "BOOT_TIMEOUT_SECONDS": 600,
            "BOOT_POLL_SECONDS": 10,
            "POWER_ACTION_TIMEOUT_SECONDS": 300,
            "MIN_HOST_RELIABILITY": 0.9,
            "SPOT_BID_MARGIN": 0.1,
            "OFFERS_TO_TRY": 3,
        }
    )
