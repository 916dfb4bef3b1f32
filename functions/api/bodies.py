"""What a request body must be for the API to read it: JSON (or curl's form label on JSON, see
`middleware.json_sent_as_form`), UTF-8 text, and nested no deeper than any request of ours needs.

Anything else is refused with the error envelope before a route runs: 415 for a body that is not
labelled JSON, 400 for one that is not UTF-8 or nests absurdly deep.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.event_handler import content_types

from dumont_core.platform.errors import DumontError, UnsupportedMediaType, ValidationFailed

MAX_JSON_DEPTH = 32
"""Our deepest request (an action report's result) nests a few levels; past this, it is not ours."""
READABLE_CONTENT_TYPES = (content_types.APPLICATION_JSON, "application/x-www-form-urlencoded")


def too_deep() -> ValidationFailed:
    message = f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels"
    return ValidationFailed(message, details={"fields": [{"field": "body", "message": message}]})


def json_depth(value: Any) -> int:
    """How deep arrays and objects nest in `value`, counted without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        pending.extend((child, depth + 1) for child in children)
    return deepest


def read_json(text: str | bytes) -> Any:
    """`json.loads`, refusing (400) what nests deeper than `MAX_JSON_DEPTH` instead of recursing on it.
    A body that is not JSON still raises `json.JSONDecodeError`."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise too_deep() from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise too_deep()
    return value


def header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == name and values:
            return str(values[-1])
    return None


def body_bytes(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8", errors="surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return b"\xff"  # not base64 either: unreadable, whatever it was meant to be


def unreadable_body(event: dict[str, Any]) -> DumontError | None:
    """Why the API cannot read the request's body, or None when it can (or there is none)."""
    if not event.get("body"):
        return None
    content_type = (header(event, "content-type") or "").strip().lower()
    if not content_type.startswith(READABLE_CONTENT_TYPES):
        sent = f"Content-Type {content_type}" if content_type else "no Content-Type"
        return UnsupportedMediaType(
            f"The request body was sent with {sent}; send JSON with Content-Type: application/json",
            details={"content_type": content_type, "accepted": [content_types.APPLICATION_JSON]},
        )
    try:
        body_bytes(event).decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"The request body is not UTF-8 text (byte {error.start} cannot be read); send UTF-8 JSON"
        return ValidationFailed(message, details={"fields": [{"field": "body", "message": message}]})
    return None
