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
