"""Requests no client should send still get a 4xx in the error envelope, never a 500 or an HTML page."""

from __future__ import annotations

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.agents.test_agent import agent_token
from tests.e2e.api.test_api_errors import assert_error
from tests.e2e.conftest import machine_of, wait_for_status

pytestmark = pytest.mark.e2e

LOGIN = "/api/v1/auth/login"
LOGIN_BODY = b'{"email": "nobody@example.com", "password": "a long password"}'


@pytest.fixture
def anonymous(stack: LocalStack):
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


def test_a_body_that_is_not_utf8_is_400(anonymous: httpx.Client) -> None:
    response = anonymous.post(LOGIN, content=b"\xff\xfe", headers={"Content-Type": "application/json"})
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert "UTF-8" in error["message"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "multipart/form-data", "multipart/form-data; boundary=x", "application/xml", None],
)
def test_a_body_not_sent_as_json_is_415(anonymous: httpx.Client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = anonymous.post(LOGIN, content=LOGIN_BODY, headers=headers)
    error = assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "Content-Type: application/json" in error["message"]


def test_a_json_body_and_curls_form_label_are_still_read(api: httpx.Client) -> None:
    body = b'{"instance_id": "inst_doesnotexist"}'
    for content_type in (
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
    ):
        response = api.post("/api/v1/snapshots", content=body, headers={"Content-Type": content_type})
        assert_error(response, 404, "INSTANCE_NOT_FOUND")


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_json_nested_absurdly_deep_is_400(anonymous: httpx.Client, content_type: str) -> None:
    for body in ("[" * 1000 + "]" * 1000, '{"email": ' + "[" * 1000 + "]" * 1000 + "}"):
        response = anonymous.post(
            "/api/v1/auth/register", content=body, headers={"Content-Type": content_type}
        )
        error = assert_error(response, 400, "VALIDATION_ERROR")
        assert "deeper than" in error["message"]


@pytest.mark.parametrize(
    "since", ["1969-12-31T23:59:59Z", "-1", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00"]
)
def test_logs_since_out_of_range_is_400_naming_the_parameter_and_the_range(
    api: httpx.Client, since: str
) -> None:
    created = api.post("/api/v1/instances", json={"gpu_type": "RTX_4090"})
    assert created.status_code == 201, created.text
    instance_id = created.json()["data"]["id"]
    try:
        response = api.get(f"/api/v1/instances/{instance_id}/logs", params={"since": since})
        error = assert_error(response, 400, "VALIDATION_ERROR")
        assert error["details"]["fields"][0]["field"] == "since"
        assert "1970-01-01T00:00:00Z" in error["message"]
        assert api.get(
            f"/api/v1/instances/{instance_id}/logs", params={"since": "1970-01-01T00:00:00Z"}
        ).is_success
    finally:
        wait_for_status(api, instance_id, {"running", "failed"})
        api.delete(f"/api/v1/instances/{instance_id}")


def test_a_method_a_path_does_not_allow_is_405_naming_those_it_does(api: httpx.Client) -> None:
    response = api.put("/api/v1/instances")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == "GET, POST"


def test_oversized_headers_are_431_in_the_error_envelope(anonymous: httpx.Client) -> None:
    response = anonymous.get("/health", headers={"X-Padding": "a" * 70_000})
    assert response.headers["Content-Type"] == "application/json"
    error = assert_error(response, 431, "HEADERS_TOO_LARGE")
    assert "64 KiB" in error["message"]


def test_log_lines_cloudwatch_cannot_keep_are_400(
    api: httpx.Client, stack: LocalStack, running_instance: str
) -> None:
    token = agent_token(stack, machine_of(api, running_instance))
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}) as agent:
        for line, field in (
            ({"timestamp": "2026-12-01T00:00:00Z", "message": ""}, "lines.0.message"),
            ({"timestamp": "1969-12-31T23:59:59Z", "message": "boot"}, "lines.0.timestamp"),
        ):
            error = assert_error(
                agent.post("/api/agent/logs", json={"lines": [line]}), 400, "VALIDATION_ERROR"
            )
            assert [item["field"] for item in error["details"]["fields"]] == [field]
        kept = agent.post(
            "/api/agent/logs", json={"lines": [{"timestamp": "2026-12-01T00:00:00Z", "message": "ok"}]}
        )
        assert kept.status_code == 200 and kept.json()["kept"] == 1
