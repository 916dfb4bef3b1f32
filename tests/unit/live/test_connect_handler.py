"""The WebSocket API's function: what `$connect` answers API Gateway for each refusal, before the upgrade,
and what it hands the live metrics service."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from dumont_core import composition
from dumont_core.platform.errors import InstanceNotFound, RateLimited, Unauthenticated


@dataclass
class Context:
    function_name: str = "DumontCloud-LiveMetrics"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:DumontCloud-LiveMetrics"
    aws_request_id: str = "request-1"


@dataclass
class FakeLive:
    refusal: Exception | None = None
    connected: list[tuple[str | None, str, str]] = field(default_factory=list)
    disconnected: list[str] = field(default_factory=list)

    def connect(self, credential: str | None, instance_id: str, connection_id: str) -> None:
        if self.refusal is not None:
            raise self.refusal
        self.connected.append((credential, instance_id, connection_id))

    def disconnect(self, connection_id: str) -> None:
        self.disconnected.append(connection_id)


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TABLE_NAME", "dumont-test")
    monkeypatch.setenv("JWT_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt")
    return importlib.import_module("live_metrics.handler").lambda_handler


def _event(
    route: str, query: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "requestContext": {
            "routeKey": route,
            "connectionId": "conn-1",
            "eventType": route.strip("$").upper(),
        },
        "queryStringParameters": query,
        "headers": headers,
    }


def test_a_credential_on_the_url_or_in_a_header_reaches_the_service(handler: Any) -> None:
    live = FakeLive()
    with composition.overridden(live_metrics=live):
        on_url = handler(_event("$connect", {"instance_id": "inst_1", "token": "dumont_sk_a"}), Context())
        in_header = handler(
            _event("$connect", {"instance_id": "inst_1"}, {"X-API-Key": "dumont_sk_b"}), Context()
        )

    assert on_url == in_header == {"statusCode": 200}
    assert live.connected == [("dumont_sk_a", "inst_1", "conn-1"), ("dumont_sk_b", "inst_1", "conn-1")]


@pytest.mark.parametrize(
    ("refusal", "status", "code"),
    [
        (Unauthenticated("no credential"), 401, "UNAUTHENTICATED"),
        (InstanceNotFound("inst_1"), 404, "INSTANCE_NOT_FOUND"),
        (RateLimited("slow down", details={"retry_after": 12}), 429, "RATE_LIMITED"),
    ],
)
def test_a_refusal_is_the_rest_apis_status_and_error_envelope(
    handler: Any, refusal: Exception, status: int, code: str
) -> None:
    with composition.overridden(live_metrics=FakeLive(refusal=refusal)):
        answer = handler(_event("$connect", {"instance_id": "inst_1"}), Context())

    assert answer["statusCode"] == status
    body = json.loads(answer["body"])
    assert body["success"] is False and body["error"]["code"] == code
    assert ("Retry-After" in answer["headers"]) is (status == 429)


def test_a_connection_without_an_instance_is_a_400_naming_the_path(handler: Any) -> None:
    live = FakeLive()
    with composition.overridden(live_metrics=live):
        answer = handler(_event("$connect", {"token": "dumont_sk_a"}), Context())

    assert answer["statusCode"] == 400
    assert "/ws/instance/{instance_id}/metrics" in json.loads(answer["body"])["error"]["message"]
    assert live.connected == []


def test_a_close_forgets_the_connection_and_messages_are_ignored(handler: Any) -> None:
    live = FakeLive()
    with composition.overridden(live_metrics=live):
        assert handler(_event("$disconnect"), Context()) == {"statusCode": 200}
        assert handler(_event("$default"), Context()) == {"statusCode": 200}

    assert live.disconnected == ["conn-1"]
