"""The CLI's tests run `dumont` in-process against a scripted API, with a config directory of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from dumont import Client
from dumont_cli import settings
from dumont_cli.main import cli
from tests.fakes.api_answers import ScriptedApi

KEY = "dumont_sk_0123456789abcdefghij"


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("DUMONT_API_KEY", KEY)
    monkeypatch.delenv("DUMONT_API_URL", raising=False)
    return tmp_path


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch, home: Path) -> Iterator[ScriptedApi]:
    api = ScriptedApi()

    def client() -> Client:
        http = httpx.Client(base_url="http://api.test", transport=api.transport())
        return Client(api_key=KEY, base_url="http://api.test", http_client=http)

    monkeypatch.setattr(settings, "client", client)
    yield api


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr
