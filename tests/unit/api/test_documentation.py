"""The API's own documentation is served from the committed OpenAPI document, at the address it is
reached through."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.app import resolver
from api.documentation.routes import OPENAPI_FILE, routes


def get(path: str, context_path: str) -> dict[str, Any]:
    """What API Gateway sends for a GET of `path`, reached at `context_path`."""
    event = {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": {"Host": "api.example.com"},
        "multiValueHeaders": {"Host": ["api.example.com"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"path": context_path, "stage": "v1", "httpMethod": "GET", "resourcePath": path},
        "body": None,
        "isBase64Encoded": False,
    }
    answer: dict[str, Any] = resolver(routes).resolve(event, None)  # type: ignore[arg-type]
    return answer


@pytest.mark.parametrize(
    ("context_path", "server"),
    [("/v1/openapi.json", "/v1"), ("/openapi.json", "/")],
    ids=["behind the stage of the default endpoint", "at the root of a custom domain"],
)
def test_the_document_names_the_server_it_was_reached_through(context_path: str, server: str) -> None:
    answer = get("/openapi.json", context_path)

    served = json.loads(answer["body"])
    assert answer["statusCode"] == 200
    assert served["servers"] == [{"url": server}]
    assert {**served, "servers": None} == {**json.loads(OPENAPI_FILE.read_text()), "servers": None}


def test_swagger_ui_embeds_the_document_and_calls_the_stage() -> None:
    answer = get("/docs", "/v1/docs")

    assert answer["statusCode"] == 200
    assert answer["multiValueHeaders"]["Content-Type"] == ["text/html"]
    assert "SwaggerUIBundle" in answer["body"]
    assert '"url": "/v1"' in answer["body"] and '"/api/v1/instances"' in answer["body"]
