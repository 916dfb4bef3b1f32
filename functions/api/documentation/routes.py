"""The health check, the API's own documentation (the committed OpenAPI document and Swagger UI), and the
demo app (seed 002), a page that shows demo mode in a browser."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response, content_types

from api.routing import DomainRoutes
from api.schemas import View

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.json"
DEMO_APP_FILE = Path(__file__).resolve().parent / "demo_app.html"
"""Written by `make openapi` from the routes; a test fails when the routes and the file drift apart."""

routes = DomainRoutes(tag="Documentation")


class HealthView(View):
    """The API is up."""

    status: str


@routes.operation("GET", "/health", HealthView, None)
def health() -> Response[str]:
    """Health check"""
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body='{"status":"ok"}')


@cache
def _committed_document() -> dict[str, object]:
    document: dict[str, object] = json.loads(OPENAPI_FILE.read_text())
    return document


def served_document() -> str:
    """The committed document, with the server this request came through: behind API Gateway the
    routes live under the stage (`/v1/...`), and Swagger UI must call them there."""
    event = routes.current_event
    context_path = str((event.raw_event.get("requestContext") or {}).get("path") or "")
    base = context_path[: -len(event.path)] if event.path and context_path.endswith(event.path) else ""
    return json.dumps({**_committed_document(), "servers": [{"url": base or "/"}]})


@routes.operation("GET", "/openapi.json", dict, None, answered="This API, in OpenAPI 3")
def openapi() -> Response[str]:
    """The OpenAPI document"""
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=served_document())


@routes.operation("GET", "/docs", str, None, answered="An HTML page", media_type="text/html")
def swagger_ui() -> Response[str]:
    """Swagger UI"""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    html = generate_swagger_html(
        served_document().replace("</", "<\\/"),
        (assets / "swagger-ui-bundle.min.js").read_text(),
        (assets / "swagger-ui.min.css").read_text(),
        "",
        None,
        False,
    )
    return Response(status_code=200, content_type="text/html", body=html)


@routes.operation("GET", "/demo-app", str, None, answered="An HTML page", media_type="text/html")
def demo_app() -> Response[str]:
    """The demo app

    A page listing demo mode's machines and creating demo instances (`?demo=true`), with no credentials."""
    return Response(status_code=200, content_type="text/html", body=DEMO_APP_FILE.read_text())
