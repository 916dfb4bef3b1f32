"""Slack as seed 003's bot example uses it: an app whose commands are registered by a decorator, and
the `slack_sdk` Web API client posting messages (kept here instead of sent)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any


class FakeWebClient:
    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.posted: list[dict[str, Any]] = []

    def chat_postMessage(self, **message: Any) -> dict[str, Any]:
        self.posted.append(message)
        return {"ok": True}


class FakeSlackApp:
    """Registers slash commands as Bolt's `@app.command("/name")` does."""

    def __init__(self) -> None:
        self.commands: dict[str, Callable[..., Any]] = {}

    def command(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.commands[name] = handler
            return handler

        return register


def slack_sdk_module() -> types.ModuleType:
    module = types.ModuleType("slack_sdk")
    module.WebClient = FakeWebClient  # type: ignore[attr-defined]
    return module
