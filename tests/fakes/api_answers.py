"""A scripted API for the SDK's and CLI's unit tests: httpx's MockTransport answering from a list."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

Handler = Callable[[httpx.Request], httpx.Response]


def envelope(data: Any, status: int = 200, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"success": True, "data": data, **extra})


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **details: Any
) -> httpx.Response:
    body = {"success": False, "error": {"code": code, "message": message, "details": details}}
    return httpx.Response(status, json=body, headers=headers)


class ScriptedApi:
    """Answers each request with the next scripted answer, and keeps the requests it saw."""

    def __init__(self, *answers: httpx.Response | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"no answer scripted for {request.method} {request.url}")
        answer = self.answers.pop(0)
        return answer(request) if callable(answer) else answer

    def body(self, index: int) -> Any:
        return json.loads(self.requests[index].content)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)
