"""The SDK against the committed OpenAPI document: every route it calls is served, every field its
objects promise is answered, so the SDK cannot drift from the API."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import dumont.models
from dumont._objects import ApiObject, declared_fields
from dumont._transport import ROUTES

OPENAPI = Path(__file__).resolve().parents[3] / "functions" / "api" / "openapi.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OPENAPI.read_text())
    return loaded


def models() -> list[type[ApiObject]]:
    return [
        cls
        for _, cls in inspect.getmembers(dumont.models, inspect.isclass)
        if issubclass(cls, ApiObject) and cls.SCHEMA
    ]


def test_every_route_the_sdk_calls_is_served(document: dict[str, Any]) -> None:
    import dumont.client  # noqa: F401  (the resources register their routes when imported)

    served = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    assert len(ROUTES) > 50
    assert sorted(ROUTES - served) == []


@pytest.mark.parametrize("model", models(), ids=lambda cls: cls.__name__)
def test_every_field_a_model_promises_is_in_its_schema(
    model: type[ApiObject], document: dict[str, Any]
) -> None:
    schemas = document["components"]["schemas"]
    answered: set[str] = set()
    for name in model.SCHEMA:
        assert name in schemas, f"{model.__name__} reads {name}, which the API no longer answers"
        answered |= set(schemas[name]["properties"])
    assert sorted(declared_fields(model) - answered) == []


def test_the_seed_attributes_are_answered(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert {"id", "status", "ip", "name"} <= set(schemas["InstanceDetailView"]["properties"])
    assert "size_gb" in schemas["SnapshotView"]["properties"]
    assert {"total_saved_usd", "roi_percent", "aws_equivalent"} <= set(schemas["DashboardView"]["properties"])


# Arguments that are not body fields: the SDK's own, seed 001's `gpu` (sent as `gpu_type`), path ids.
SDK_ONLY = {"idempotency_key", "wait", "timeout", "extra", "gpu"}
PATH_PARAMETERS = {"team_id"}


@pytest.mark.parametrize(
    ("method", "schema"),
    [
        ("instances.create", "CreateInstanceRequest"),
        ("snapshots.create", "NewSnapshotRequest"),
        ("serverless.enable", "EnableRequest"),
        ("failover.configure", "ConfigureRequest"),
        ("webhooks.create", "NewWebhookRequest"),
        ("roles.create", "NewRoleRequest"),
        ("teams.add_member", "NewMemberRequest"),
    ],
)
def test_every_field_a_create_sends_is_one_the_api_reads(
    method: str, schema: str, document: dict[str, Any]
) -> None:
    from dumont.client import Client

    resource, name = method.split(".")
    client = Client(api_key="dumont_sk_0123456789abcdef")
    parameters = set(inspect.signature(getattr(getattr(client, resource), name)).parameters)
    accepted = set(document["components"]["schemas"][schema]["properties"])
    assert sorted(parameters - SDK_ONLY - PATH_PARAMETERS - accepted) == []


# Operations the API serves that no SDK method calls, each with why. Anything else the API serves must
# have a method: a route added to the API without one fails here.
NOT_FOR_THE_SDK = {
    # The machines' agent speaks these with its own token, not a user's key.
    ("POST", "/api/agent/actions/{action_id}"),
    ("GET", "/api/agent/instances"),
    ("POST", "/api/agent/logs"),
    ("GET", "/api/agent/snapshots/{snapshot_id}/downloads"),
    ("POST", "/api/agent/snapshots/{snapshot_id}/uploads"),
    ("POST", "/api/agent/status"),
    # Signing up and logging in take a password and give the key the SDK starts from.
    ("POST", "/api/auth/login"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/register"),
    # Stripe's notifications of payments, signed by Stripe.
    ("POST", "/api/v1/billing/stripe-webhook"),
    # Unversioned duplicates of a /api/v1 route the SDK calls instead (kept for the older documents).
    ("POST", "/api/instances"),
    ("DELETE", "/api/instances/{instance_id}"),
    ("GET", "/api/instances/{instance_id}"),
    ("GET", "/api/machines"),
    ("POST", "/api/snapshots"),
    ("GET", "/api/snapshots/{snapshot_id}"),
    ("GET", "/api/webhooks"),
    ("POST", "/api/webhooks"),
    ("GET", "/api/savings/breakdown"),
    ("GET", "/api/savings/comparison/{gpu_type}"),
    ("GET", "/api/savings/dashboard"),
    ("GET", "/api/savings/history"),
    ("GET", "/api/savings/summary"),
    # GET /api/v1/market/predictions in the older documents' shape.
    ("GET", "/api/metrics/predictions/{gpu_name}"),
    # Live metrics: a WebSocket to open (the README shows a client), not an HTTP call.
    ("GET", "/ws/instance/{instance_id}/metrics"),
    # Pages for a browser and the service's own health and description.
    ("GET", "/demo-app"),
    ("GET", "/docs"),
    ("GET", "/health"),
    ("GET", "/openapi.json"),
}


def test_every_operation_the_api_serves_has_a_method_or_a_reason(document: dict[str, Any]) -> None:
    import dumont.client  # noqa: F401  (the resources register their routes when imported)

    served = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    assert sorted(served - ROUTES - NOT_FOR_THE_SDK) == []
    assert sorted(NOT_FOR_THE_SDK - served) == [], "an exclusion names a route the API no longer serves"
    assert sorted(NOT_FOR_THE_SDK & ROUTES) == [], "an excluded route is called after all"
