"""JSON as the marketplace reads and writes it: numbers as JSON counts them, and answers, errors among
them shaped the way Vast shapes them."""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from werkzeug.wrappers import Response

Json = dict[str, Any]


def is_number(value: object) -> TypeGuard[int | float]:
    """Whether a value read from JSON is a number, which true and false are not (unlike in Python)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def error_body(error: str, msg: str, **extra: Any) -> Json:
    return {"success": False, "error": error, "msg": msg, **extra}


class ApiError(Exception):
    """An answer shaped the way Vast shapes its errors, raised where the error is found."""

    def __init__(self, status: int, error: str, msg: str, **extra: Any) -> None:
        super().__init__(msg)
        self.status = status
        self.body: Json = error_body(error, msg, **extra)


def json_response(status: int, body: Json, *, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)
