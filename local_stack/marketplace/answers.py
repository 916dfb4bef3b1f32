"""How the marketplace answers: JSON bodies, and errors shaped the way Vast shapes them."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

Json = dict[str, Any]


class ApiError(Exception):
    """An answer shaped the way Vast shapes its errors."""

    def __init__(self, status: int, error: str, msg: str, **extra: Any) -> None:
        super().__init__(msg)
        self.status = status
        self.body: Json = {"success": False, "error": error, "msg": msg, **extra}


def json_response(status: int, body: Json, *, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)
