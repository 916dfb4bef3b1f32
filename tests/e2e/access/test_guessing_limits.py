"""Guessing passwords over HTTP: failed logins lock an account for the rest of the window with a 429 that
says when to come back, concurrent guesses included, and the address counted is the connection's own.

The e2e stack keeps AWS's limit per account (10 failed logins in 15 minutes) and lifts the limits per
address, since every test's client shares 127.0.0.1; those are exercised on the test clock in
tests/integration/access/test_guessing_limits.py.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.access.conftest import PASSWORD, register

pytestmark = pytest.mark.e2e

FAILURES_PER_ACCOUNT = 10
WINDOW_SECONDS = 900


def fresh_window() -> None:
    """Start where the window has room for the whole test, so it never starts over midway."""
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 30:
        time.sleep(left + 0.5)


def wrong_password(client: httpx.Client, email: str, path: str = "/api/v1/auth/login") -> httpx.Response:
    return client.post(path, json={"email": email, "password": "a wrong guess"})


def test_failed_logins_lock_the_account_with_429_and_retry_after(stack: LocalStack) -> None:
    email = register(stack)
    fresh_window()
    with httpx.Client(base_url=stack.url) as anonymous:
        statuses = [wrong_password(anonymous, email).status_code for _ in range(FAILURES_PER_ACCOUNT)]
        assert statuses == [401] * FAILURES_PER_ACCOUNT
        for path in ("/api/v1/auth/login", "/api/auth/login"):
            refused = anonymous.post(path, json={"email": email, "password": PASSWORD})
            assert refused.status_code == 429, refused.text
            error = refused.json()["error"]
            assert refused.json()["success"] is False
            assert error["code"] == "TOO_MANY_ATTEMPTS"
            retry_after = int(refused.headers["Retry-After"])
            assert 1 <= retry_after <= WINDOW_SECONDS
            assert error["details"]["retry_after"] == retry_after
            assert f"{retry_after} s" in error["message"]
        assert wrong_password(anonymous, "other-" + email).status_code == 401, "other accounts are unaffected"


def test_concurrent_guesses_get_no_more_than_the_limit(stack: LocalStack) -> None:
    email = register(stack)
    fresh_window()
    with (
        httpx.Client(base_url=stack.url, timeout=60) as anonymous,
        ThreadPoolExecutor(max_workers=20) as pool,
    ):
        statuses = list(pool.map(lambda _: wrong_password(anonymous, email).status_code, range(20)))
    assert sorted(statuses) == [401] * FAILURES_PER_ACCOUNT + [429] * 10


def test_the_address_counted_is_the_connection_s_not_a_header(stack: LocalStack) -> None:
    table_name = stack.deployment.function_environment["TABLE_NAME"]  # type: ignore[union-attr]
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=stack.url, transport=transport) as from_elsewhere:
        answer = from_elsewhere.post(
            "/api/v1/auth/login",
            json={"email": "nobody@example.com", "password": "a wrong guess"},
            headers={"X-Forwarded-For": "198.51.100.9"},
        )
    assert answer.status_code == 401

    def counted(address: str) -> int:
        items = stack.aws.client("dynamodb").query(
            TableName=table_name,
            KeyConditionExpression="PK = :subject",
            ExpressionAttributeValues={":subject": {"S": f"ATTEMPTS#login-address#{address}"}},
        )["Items"]
        return sum(int(item["attempts"]["N"]) for item in items)

    assert counted("127.0.0.2") >= 1
    assert counted("198.51.100.9") == 0
