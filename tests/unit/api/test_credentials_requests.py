"""What the account routes accept: emails a person can act on (no control characters, a real address
syntax), and a login password of any length, so every wrong password meets the same 401."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.access.schemas import CredentialsRequest, LoginRequest
from api.teams.schemas import NewMemberRequest

PASSWORD = "a long enough password"
BAD_EMAILS = [
    "nul\x00@example.com",
    "bell\x07@example.com",
    "tab\t@example.com",
    "user@exam\x00ple.com",
    "line\nbreak@example.com",
    "del\x7f@example.com",
    "no-at-sign.example.com",
    "two@@example.com",
    "space @example.com",
    "user@",
    "",
]


@pytest.mark.parametrize("email", [*BAD_EMAILS, "user@localhost", "user@nodot", "a..b@example.com"])
def test_registration_refuses_an_email_that_is_not_an_address(email: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CredentialsRequest.model_validate({"email": email, "password": PASSWORD})
    [problem] = caught.value.errors()
    assert problem["loc"] == ("email",)


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_login_and_adding_a_member_refuse_control_characters_and_malformed_emails(email: str) -> None:
    for model, body in ((LoginRequest, {"password": PASSWORD}), (NewMemberRequest, {"role": "viewer"})):
        with pytest.raises(ValidationError) as caught:
            model.model_validate({"email": email, **body})
        assert [problem["loc"] for problem in caught.value.errors()] == [("email",)]


def test_the_message_says_what_is_wrong_with_the_email() -> None:
    with pytest.raises(ValidationError) as caught:
        CredentialsRequest.model_validate({"email": "nul\x00@example.com", "password": PASSWORD})
    assert "U+0000" in caught.value.errors()[0]["msg"]


def test_registration_keeps_a_normalized_address() -> None:
    body = CredentialsRequest.model_validate({"email": "Someone@Example.COM", "password": PASSWORD})
    assert body.email == "Someone@example.com"
    accented = CredentialsRequest.model_validate({"email": "jose\u0301@example.com", "password": PASSWORD})
    assert accented.email == "jos\u00e9@example.com"


def test_an_account_registered_before_stricter_rules_can_still_log_in() -> None:
    assert LoginRequest.model_validate({"email": "admin@dumont.local", "password": "x"}).email == (
        "admin@dumont.local"
    )


@pytest.mark.parametrize("password", ["", "x", "short", "p" * 257, "p" * 10_000, "nul\x00inside"])
def test_login_takes_a_password_of_any_length(password: str) -> None:
    body = LoginRequest.model_validate({"email": "user@example.com", "password": password})
    assert body.password == password


def test_registration_still_asks_for_a_password_of_8_to_256_characters() -> None:
    for password in ("short", "p" * 257):
        with pytest.raises(ValidationError):
            CredentialsRequest.model_validate({"email": "user@example.com", "password": password})
