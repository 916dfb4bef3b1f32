"""The routes, their OpenAPI document and the deployed route table come from one declaration each."""

from __future__ import annotations

import importlib
import json

import pytest

from api import openapi
from api.documentation.routes import OPENAPI_FILE
from api.routing import (
    CALLER_EXTENSION,
    DEMO_EXTENSION,
    DOMAINS,
    PERMISSION_EXTENSION,
    WEBSOCKET_EXTENSION,
    module_serving,
)
from dumont_core.access.permissions import AGENT_PERMISSION, OPERATOR_PERMISSION, PERMISSIONS
from infra.topology import API_ROUTES, routes_of

DOCUMENT = openapi.document()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
]


def test_the_committed_openapi_document_is_the_one_the_routes_make() -> None:
    committed = OPENAPI_FILE.read_text()
    assert committed == openapi.rendered(DOCUMENT), "run `make openapi` and commit functions/api/openapi.json"


def test_api_gateway_deploys_exactly_the_documented_operations() -> None:
    assert routes_of(json.loads(OPENAPI_FILE.read_text())) == API_ROUTES
    assert {(route.method, route.path) for route in API_ROUTES} == {
        (method, path) for method, path, operation in OPERATIONS if not operation.get(WEBSOCKET_EXTENSION)
    }


def test_live_metrics_are_documented_as_a_websocket_the_rest_api_has_no_route_for() -> None:
    operation = DOCUMENT["paths"]["/ws/instance/{instance_id}/metrics"]["get"]
    assert operation[WEBSOCKET_EXTENSION] is True
    assert operation[PERMISSION_EXTENSION] == "instances.view"
    assert {"101", "401", "403", "404", "409", "429"} <= set(operation["responses"])
    assert "Upgrade: websocket" in operation["description"]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"instance_id", "token"}
    message = DOCUMENT["components"]["schemas"]["LiveMetricsMessage"]["properties"]
    assert set(message) == {"timestamp", "gpu_utilization", "vram_used_gb", "cost_accumulated"}
    assert not [route for route in API_ROUTES if route.path.startswith("/ws/")]


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=lambda value: str(value)[:60])
def test_every_operation_says_who_may_call_it(method: str, path: str, operation: dict[str, object]) -> None:
    caller = operation[CALLER_EXTENSION]
    permission = operation.get(PERMISSION_EXTENSION)
    if caller == "anyone":
        assert permission is None and "security" not in operation
    elif caller == "agent":
        assert permission == AGENT_PERMISSION
        assert operation["security"] == [{"agentToken": []}]
    else:
        # The operators' permission is held by no role, so it is not among those roles are made of.
        assert caller == "member" and (permission in PERMISSIONS or permission == OPERATOR_PERMISSION)
        assert "429" in operation["responses"]  # type: ignore[operator]
        # Routes that serve demo mode take no credentials with `demo=true`: they are optional there.
        optional = [{}] if operation.get(DEMO_EXTENSION) else []
        assert operation["security"] == [{"accessToken": []}, {"apiKey": []}, *optional]
    if caller != "anyone":
        assert {"401", "403"} <= set(operation["responses"])  # type: ignore[arg-type]


def test_the_document_declares_the_three_credentials() -> None:
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["accessToken"] == {**schemes["accessToken"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["agentToken"] == {**schemes["agentToken"], "type": "http", "scheme": "bearer"}
    assert "dumont_ag_" in schemes["agentToken"]["bearerFormat"]


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=lambda value: str(value)[:60])
def test_every_answer_the_api_gives_is_documented(method: str, path: str, operation: dict) -> None:
    responses = operation["responses"]
    assert "422" not in responses, "invalid requests answer 400"
    if operation.get("parameters"):
        assert "400" in responses, "a parameter out of its bounds (an id too long, a page of 0)"
    if "requestBody" in operation:
        assert {"400", "415"} <= set(responses), "a body not JSON, or not labelled JSON"
        assert responses["415"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")
    if "429" in responses:
        assert "Retry-After" in responses["429"]["headers"]


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/auth/login", "/api/v1/auth/register"])
def test_login_and_registration_document_their_throttling(path: str) -> None:
    assert "Retry-After" in DOCUMENT["paths"][path]["post"]["responses"]["429"]["headers"]


def test_each_route_is_served_by_the_module_that_declares_it() -> None:
    for module in DOMAINS:
        routes = importlib.import_module(module).routes
        declared = {rule.replace("<", "{").replace(">", "}") for rule, *_ in routes._routes}
        assert declared, f"{module} declares no route"
        for path in declared:
            assert module_serving(path) == module, path


def test_a_path_no_module_serves_is_nobodys() -> None:
    assert module_serving("/api/v1/instancesx") is None
    assert module_serving("/nothing/here") is None
    assert module_serving("/api/v1/instances/inst_1/events") == "api.instances.routes"
