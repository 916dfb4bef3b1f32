"""The OpenAPI document of every route, as `make openapi` writes it to `openapi.json`.

`python -m api.openapi` writes the file; `python -m api.openapi --check` exits 1 when the file and the
routes differ. The committed file is what `/openapi.json` and `/docs` serve, what the clients are built
from, and what the deployed route table is read from (`infra.topology`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from api.app import resolver
from api.documentation.routes import OPENAPI_FILE
from api.responses import ERROR_DESCRIPTIONS
from api.routing import DOMAINS, SECURITY_SCHEMES
from api.websocket_document import LIVE_METRICS_PATH, MESSAGE_SCHEMA, live_metrics_path, message_schema

TITLE = "Dumont Cloud API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Spot GPUs that hibernate when idle and fail over without losing data.\n\n"
    "**Credentials.** Send one of `Authorization: Bearer <access token>` (from `POST /api/v1/auth/login`), "
    "`Authorization: Bearer dumont_sk_…` or `X-API-Key: dumont_sk_…` (from `POST /api/v1/api-keys`); "
    "the agent routes take the instance's agent token, `Authorization: Bearer dumont_ag_…`. "
    "Each credential acts in one team, with the permissions of your role there; `x-dumont-permission` "
    "names the permission each operation needs.\n\n"
    "**Rate limits.** Free: 60 requests/minute and 1,000/day; Pro: 300/minute and 10,000/day; "
    "Enterprise: 1,000/minute, no daily cap; counted per member of a team. Every authenticated answer "
    "carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (epoch seconds) for "
    "the window nearest its limit. Past it: 429 `RATE_LIMITED` with `Retry-After` (seconds); the request "
    "is not carried out. Failed logins and registrations are limited too, per account and per address.\n\n"
    "**Request bodies** are JSON, sent with `Content-Type: application/json` (415 otherwise), in UTF-8 and "
    "nested at most 32 levels deep (400 otherwise).\n\n"
    "Versioned routes answer "
    '`{"success": true, "data": ...}`; errors answer '
    '`{"success": false, "error": {"code", "message", "details"}}`.'
)


def document() -> dict[str, Any]:
    """The document built from the route modules themselves."""
    routers = [importlib.import_module(module).routes for module in DOMAINS]
    schema = resolver(*routers).get_openapi_json_schema(
        title=TITLE, version=VERSION, description=DESCRIPTION, security_schemes=SECURITY_SCHEMES
    )
    built: dict[str, Any] = json.loads(schema)
    # Invalid requests answer 400 VALIDATION_ERROR, which every route that takes input documents;
    # Powertools documents its own 422 on every route, which this API never sends. A route that takes a
    # body also answers 415 to one not labelled JSON (`api.bodies`).
    for operations in built["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
            refusals = ["415"] if "requestBody" in operation else []
            if "requestBody" in operation or operation.get("parameters"):
                refusals.append("400")
            for code in refusals:
                operation["responses"].setdefault(code, refused(int(code)))
    schemas = built.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    # Added after the refusals above: its answers are the WebSocket API's, written out in full there.
    built["paths"][LIVE_METRICS_PATH] = live_metrics_path()
    schemas[MESSAGE_SCHEMA] = message_schema()
    return built


def refused(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }


def rendered(built: dict[str, Any]) -> str:
    return json.dumps(built, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if openapi.json differs from the routes")
    args = parser.parse_args(argv)
    built = document()
    text = rendered(built)
    if args.check:
        current = OPENAPI_FILE.read_text() if OPENAPI_FILE.exists() else ""
        if current != text:
            print(f"{OPENAPI_FILE.name} is out of date with the routes; run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OPENAPI_FILE.write_text(text)
    print(f"wrote {OPENAPI_FILE.name}: {len(built['paths'])} paths")
    return 0


if __name__ == "__main__":
    sys.exit(main())
