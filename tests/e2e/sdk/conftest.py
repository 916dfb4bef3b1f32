"""The SDK and the CLI against the local stack, as a user runs them: DUMONT_API_KEY and DUMONT_API_URL
point at it, and the CLI keeps its config in a directory of the test's own."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local_stack.stack import LocalStack

SNIPPETS = Path(__file__).parent / "seed_snippets"


def snippet(name: str) -> str:
    """A seed's code block, character for character."""
    return (SNIPPETS / name).read_text(encoding="utf-8")


@pytest.fixture
def user_env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The environment of a user whose two variables point at the stack (also given to subprocesses)."""
    monkeypatch.setenv("DUMONT_API_KEY", stack.api_key)
    monkeypatch.setenv("DUMONT_API_URL", stack.url)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    # The `dumont` command installed beside this interpreter comes first on the PATH.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return dict(os.environ)


@pytest.fixture
def cleanup_instances(api: httpx.Client) -> Iterator[None]:
    """Deletes the instances a test made, so no machine of it runs on into the next test."""
    before = _instance_ids(api)
    yield
    for instance_id in _instance_ids(api) - before:
        api.delete(f"/api/v1/instances/{instance_id}")


def _instance_ids(api: httpx.Client) -> set[str]:
    ids: set[str] = set()
    page = 1
    while True:
        answer = api.get("/api/v1/instances", params={"page": page, "per_page": 100}).json()
        ids |= {item["id"] for item in answer["data"] if item["status"] not in ("deleting", "deleted")}
        if page * answer["meta"]["per_page"] >= answer["meta"]["total"]:
            return ids
        page += 1
