"""The plan's request limits, as a client sees them: headers that count down, and 429 past the limit."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.access.conftest import current_team, login, register

pytestmark = pytest.mark.e2e

FREE_PER_MINUTE = 60


def fresh_minute() -> None:
    """Start where the minute window has room for the whole test, so it never rolls over midway."""
    into_minute = time.time() % 60
    if into_minute > 40:
        time.sleep(60.5 - into_minute)


def rate_headers(response: httpx.Response) -> tuple[int, int, int]:
    return (
        int(response.headers["X-RateLimit-Limit"]),
        int(response.headers["X-RateLimit-Remaining"]),
        int(response.headers["X-RateLimit-Reset"]),
    )


def seat(stack: LocalStack, team_id: str) -> dict[str, Any]:
    table = stack.deployment.function_environment["TABLE_NAME"]  # type: ignore[union-attr]
    items = stack.aws.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="PK = :team AND begins_with(SK, :member)",
        ExpressionAttributeValues={":team": {"S": f"TEAM#{team_id}"}, ":member": {"S": "MEMBER#"}},
    )["Items"]
    assert len(items) == 1
    return dict(items[0])


def test_the_headers_count_down_and_the_limit_holds_exactly(stack: LocalStack) -> None:
    email = register(stack)
    fresh_minute()
    with login(stack, email) as client:
        seen = [rate_headers(client.get("/api/v1/instances")) for _ in range(3)]
        assert [remaining for _, remaining, _ in seen] == [59, 58, 57]
        limit, _, reset = seen[0]
        assert limit == FREE_PER_MINUTE
        assert reset % 60 == 0 and 0 < reset - time.time() <= 60
        # An error answer counts, and says so, too.
        missing = client.get("/api/v1/instances/inst_none")
        assert missing.status_code == 404 and rate_headers(missing)[1] == 56
        for expected_remaining in range(55, -1, -1):
            response = client.get("/api/v1/instances")
            assert response.status_code == 200
            assert rate_headers(response)[1] == expected_remaining

        refused = client.post("/api/v1/api-keys", json={"name": "one too many"})
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "RATE_LIMITED"
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 60 and error["details"]["retry_after"] == retry_after
        assert rate_headers(refused) == (FREE_PER_MINUTE, 0, reset)
        team_id = current_team_of(stack, email)
    assert seat(stack, team_id)["api_keys"] == {"M": {}}, "the refused request created nothing"


def current_team_of(stack: LocalStack, email: str) -> str:
    # Read from the table: every request through the API is refused for the rest of this minute.
    items = stack.aws.client("dynamodb").get_item(
        TableName=stack.deployment.function_environment["TABLE_NAME"],  # type: ignore[union-attr]
        Key={"PK": {"S": f"EMAIL#{email}"}, "SK": {"S": "EMAIL"}},
    )
    return str(items["Item"]["default_team_id"]["S"])


def test_twenty_concurrent_requests_at_the_limit_let_through_only_what_is_left(stack: LocalStack) -> None:
    email = register(stack)
    fresh_minute()
    with login(stack, email) as client:
        for _ in range(FREE_PER_MINUTE - 10):
            assert client.get("/api/v1/instances").status_code == 200
        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(lambda _: client.get("/api/v1/instances").status_code, range(20)))
    assert sorted(statuses) == [200] * 10 + [429] * 10


def test_requests_without_credentials_are_not_counted_against_anyone(stack: LocalStack) -> None:
    with httpx.Client(base_url=stack.url) as anonymous:
        refused = anonymous.get("/api/v1/instances")
        health = anonymous.get("/health")
    assert refused.status_code == 401 and "X-RateLimit-Limit" not in refused.headers
    assert health.status_code == 200 and "X-RateLimit-Limit" not in health.headers


def test_the_bootstrap_account_is_on_the_enterprise_plan(api: httpx.Client) -> None:
    response = api.get("/api/v1/teams")
    assert rate_headers(response)[0] == 1000
    assert response.json()["data"][0]["plan"] == "enterprise"
    assert current_team(api)
