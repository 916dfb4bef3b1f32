"""Demo mode through the authorizer and the API function as API Gateway chains them (moto): every read
route of an instance serves the demo fleet, with or without credentials (even refused ones), and an
address is held to its demo allowance (429 past it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from dumont_core import composition
from dumont_core.access.permissions import permissions_of
from dumont_core.demo.service import DemoService
from dumont_core.platform.identity import Principal
from tests.fakes.api_gateway import LambdaContext, answer_body, rest_event
from tests.fakes.clock import Clock
from tests.integration.conftest import REGION, ApiFunction

DEMO_LIMIT = 6
RTX_4090 = "demo_28864630"
"""The fleet's RTX 4090, running at 87 % of its GPU."""
A100 = "demo_28864631"
"""The fleet's A100, hibernating."""
VIEWER = Principal(
    account_id="acct_00000000000000aa",
    team_id="team_00000000000000aa",
    role="viewer",
    plan="pro",
    permissions=permissions_of("viewer", None),
)


NOON = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
"""The demo's time: its RTX 4090 came up at 18:00 the day before (six hours before the day began)."""


@pytest.fixture
def demo_api(api_function: ApiFunction, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiFunction]:
    monkeypatch.setenv("DEMO_REQUESTS_PER_ADDRESS", str(DEMO_LIMIT))
    composition.reset()
    with composition.overridden(demo=DemoService(ready_seconds=60, clock=Clock(NOON))):
        yield api_function
    composition.reset()


def through_gateway(api: ApiFunction, event: dict[str, Any]) -> dict[str, Any]:
    """Run the authorizer on the request, then the API with the context it hands on, as API Gateway does
    (401 when the authorizer refuses)."""
    from authorizer.handler import lambda_handler as authorize

    authorizer_event = {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:{REGION}:123456789012:dumontapi/prod/{event['httpMethod']}"
        f"{event['path']}",
        **{key: event[key] for key in ("resource", "path", "httpMethod", "headers", "queryStringParameters")},
        "pathParameters": event["pathParameters"],
        "requestContext": event["requestContext"],
    }
    try:
        answer = authorize(authorizer_event, LambdaContext())
    except Exception as refused:
        return {"statusCode": 401, "body": "{}", "why": repr(refused)}
    context = {
        name: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for name, value in answer.get("context", {}).items()
    }
    event["requestContext"]["authorizer"] = {"principalId": answer["principalId"], **context}
    return api(event)


def read(api: ApiFunction, route: str, instance_id: str, **headers: str) -> dict[str, Any]:
    event = rest_event("GET", route, {"instance_id": instance_id}, query={"demo": "true"})
    event["headers"].update(headers)
    return through_gateway(api, event)


def test_every_read_route_of_an_instance_serves_the_demo_fleet_without_credentials(
    demo_api: ApiFunction,
) -> None:
    events = read(demo_api, "/api/v1/instances/{instance_id}/events", RTX_4090)
    metrics = read(demo_api, "/api/v1/instances/{instance_id}/metrics", RTX_4090)
    logs = read(demo_api, "/api/v1/instances/{instance_id}/logs", RTX_4090)
    keys = read(demo_api, "/api/v1/instances/{instance_id}/ssh-keys", A100)

    for answer in (events, metrics, logs, keys):
        assert answer["statusCode"] == 200, answer
    timeline = [event["type"] for event in answer_body(events)["data"]["events"]]
    assert timeline == ["instance.created", "instance.started", "instance.ready"]
    points = answer_body(metrics)["data"]
    # 15-minute points over 24 hours, as a real instance's, from when it came up.
    assert (points[0]["timestamp"], points[-1]["timestamp"]) == (
        "2026-12-01T18:00:00Z",
        "2026-12-02T12:00:00Z",
    )
    assert len(points) == 18 * 4 + 1
    assert {point["gpu_utilization"] for point in points} == {87.0}, "the fleet's reading of this machine"
    lines = [line["message"] for line in answer_body(logs)["data"]["lines"]]
    assert "nvidia-smi: 1 x RTX 4090 detected" in lines
    [key] = answer_body(keys)["data"]
    assert key["fingerprint"].startswith("256 SHA256:") and key["fingerprint"].endswith("(ED25519)")
    unknown = read(demo_api, "/api/v1/instances/{instance_id}/logs", "demo_nothing")
    assert unknown["statusCode"] == 404


def test_credentials_with_demo_get_demo_data_whatever_the_role_even_refused_ones(
    demo_api: ApiFunction,
) -> None:
    created = demo_api(
        rest_event(
            "POST", "/api/v1/instances", principal=VIEWER, body={"gpu_type": "A100"}, query={"demo": "true"}
        )
    )
    assert created.get("statusCode") == 201, created["body"]
    assert answer_body(created)["data"]["id"].startswith("demo_"), "a demo create, not a 403"
    viewed = demo_api(
        rest_event(
            "GET",
            "/api/v1/instances/{instance_id}/events",
            {"instance_id": A100},
            principal=VIEWER,
            query={"demo": "true"},
        )
    )
    assert viewed["statusCode"] == 200, viewed["body"]

    refused_key = read(
        demo_api,
        "/api/v1/instances/{instance_id}/metrics",
        RTX_4090,
        **{"X-API-Key": "dumont_sk_" + "0" * 40},
    )
    assert refused_key["statusCode"] == 200, "demo data needs no credentials, so a refused one is no matter"


def test_an_address_past_its_demo_allowance_gets_429_with_when_to_retry(demo_api: ApiFunction) -> None:
    route = "/api/v1/instances/{instance_id}/ssh-keys"
    answers = [read(demo_api, route, RTX_4090) for _ in range(DEMO_LIMIT + 1)]

    assert [answer["statusCode"] for answer in answers] == [200] * DEMO_LIMIT + [429]
    limited = answers[-1]
    headers = {name: values[0] for name, values in (limited.get("multiValueHeaders") or {}).items()}
    headers.update(limited.get("headers") or {})
    assert int(headers["Retry-After"]) > 0
    assert answer_body(limited)["error"]["code"] == "RATE_LIMITED"
