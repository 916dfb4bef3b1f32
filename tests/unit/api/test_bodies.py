"""Which request bodies the API can read, as API Gateway hands them over (text, or base64 for binary)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from api.bodies import MAX_JSON_DEPTH, read_json, unreadable_body
from api.middleware import json_sent_as_form
from dumont_core.platform.errors import UnsupportedMediaType, ValidationFailed


def event(
    body: str | None, content_type: str | None = "application/json", *, base64_body: bool = False
) -> dict:
    headers = {"Content-Type": content_type} if content_type else {}
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "body": body,
        "isBase64Encoded": base64_body,
    }


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "request_event",
    [
        event(None),
        event(""),
        event('{"name": "ci"}'),
        event('{"name": "ci"}', "application/json; charset=utf-8"),
        event('{"name": "ci"}', "APPLICATION/JSON"),
        event("name=ci", "application/x-www-form-urlencoded"),
        event(base64.b64encode('{"name": "café"}'.encode()).decode(), base64_body=True),
        event(None, "text/plain"),
    ],
    ids=["none", "empty", "json", "json with charset", "upper case", "form", "base64 utf-8", "no body"],
)
def test_readable_bodies_pass(request_event: dict[str, Any]) -> None:
    assert unreadable_body(request_event) is None


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data", "application/xml", None])
def test_a_body_not_labelled_json_is_unsupported(content_type: str | None) -> None:
    refusal = unreadable_body(event('{"name": "ci"}', content_type))
    assert isinstance(refusal, UnsupportedMediaType)
    assert refusal.http_status == 415 and "application/json" in refusal.message


@pytest.mark.parametrize(
    "request_event",
    [
        event(base64.b64encode(b"\xff\xfe{}").decode(), base64_body=True),
        event("not base64 at all!", base64_body=True),
        event('{"name": "\udcff"}'),
    ],
    ids=["binary", "broken base64", "lone surrogate"],
)
def test_a_body_that_is_not_utf8_is_a_validation_error(request_event: dict[str, Any]) -> None:
    refusal = unreadable_body(request_event)
    assert isinstance(refusal, ValidationFailed)
    assert "UTF-8" in refusal.message


def test_json_is_read_up_to_the_depth_limit_and_refused_past_it() -> None:
    assert read_json(nested(MAX_JSON_DEPTH)) is not None
    assert read_json('{"a": {"b": [1, 2, {"c": null}]}}') == {"a": {"b": [1, 2, {"c": None}]}}
    for depth in (MAX_JSON_DEPTH + 1, 100_000):
        with pytest.raises(ValidationFailed, match="deeper than"):
            read_json(nested(depth))
    with pytest.raises(json.JSONDecodeError):
        read_json('{"a": ')


def test_deep_json_sent_as_a_form_is_read_as_json_and_so_refused_as_too_deep() -> None:
    form = event(nested(100_000), "application/x-www-form-urlencoded")
    json_sent_as_form(form)
    assert form["headers"]["Content-Type"] == "application/json"
    with pytest.raises(ValidationFailed):
        read_json(form["body"])
