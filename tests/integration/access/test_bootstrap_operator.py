"""A deployed stack's first operator, made by the command run against its table: an account that logs in
with the printed password and holds the operator's permission, once per email."""

from __future__ import annotations

import pytest

from dumont_core.access.permissions import OPERATOR_PERMISSION
from dumont_core.access.service import AccessService
from infra.bootstrap_operator import main
from tests.integration.conftest import TABLE_NAME


def test_the_command_makes_an_operator_who_logs_in_with_the_printed_password(
    access: AccessService, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--email", "Ops@Example.com", "--table", TABLE_NAME]) == 0

    printed = capsys.readouterr().out
    password = printed.split("Password, shown once: ")[1].strip()
    token = access.login("ops@example.com", password)
    admitted = access.admit(token.access_token)
    assert admitted is not None
    assert OPERATOR_PERMISSION in admitted.principal.permissions
    assert admitted.principal.plan == "enterprise"


def test_an_email_already_registered_is_not_made_again(
    access: AccessService, capsys: pytest.CaptureFixture[str]
) -> None:
    access.register("ops@example.com", "a password of its own")

    assert main(["--email", "ops@example.com", "--table", TABLE_NAME]) == 1
    assert "Not made" in capsys.readouterr().err
