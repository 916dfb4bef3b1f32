"""The account routes document the 429 that limits on guessing answer, and when to come back."""

from __future__ import annotations

import json

import pytest

from api.documentation.routes import OPENAPI_FILE


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/auth/login", "/api/v1/auth/register"])
def test_login_and_registration_document_429_with_retry_after(path: str) -> None:
    answers = json.loads(OPENAPI_FILE.read_text())["paths"][path]["post"]["responses"]
    assert "TOO_MANY_ATTEMPTS" in answers["429"]["description"]
    assert answers["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}
