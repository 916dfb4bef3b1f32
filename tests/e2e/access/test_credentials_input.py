"""What login and registration make of odd input, as a client sees it: one 401 for every wrong password
whatever its length, and emails with control characters refused with a message to act on."""

from __future__ import annotations

import json
import secrets

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.access.conftest import register

pytestmark = pytest.mark.e2e


def test_every_wrong_password_and_an_unknown_email_get_the_same_401(stack: LocalStack) -> None:
    email = register(stack)
    unknown = f"nobody-{secrets.token_hex(4)}@example.com"
    attempts = [(email, "x" * length) for length in (0, 1, 7, 8, 256, 257, 5_000)]
    attempts += [(email, "lone \ud800 surrogate"), (unknown, "x"), (unknown, "x" * 5_000)]
    answers = []
    with httpx.Client(base_url=stack.url) as anonymous:
        for address, password in attempts:
            # Sent as JSON escapes, as a client's encoder writes a lone surrogate.
            body = json.dumps({"email": address, "password": password})
            answers.append(
                anonymous.post(
                    "/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"}
                )
            )
    assert [answer.status_code for answer in answers] == [401] * len(attempts)
    assert len({answer.text for answer in answers}) == 1
    assert answers[0].json()["error"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("email", ["nul\x00@example.com", "bell\x07@example.com", "user@exam\x1bple.com"])
def test_registration_refuses_control_characters_in_an_email(stack: LocalStack, email: str) -> None:
    credentials = {"email": email, "password": "long enough pw"}
    with httpx.Client(base_url=stack.url) as anonymous:
        response = anonymous.post("/api/v1/auth/register", json=credentials)
        login = anonymous.post("/api/v1/auth/login", json=credentials)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert [item["field"] for item in error["details"]["fields"]] == ["email"]
    assert "U+00" in error["message"]
    assert login.status_code == 400
