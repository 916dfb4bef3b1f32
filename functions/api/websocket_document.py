"""The OpenAPI description of live metrics, `/ws/instance/{instance_id}/metrics`, which the REST API does
not serve: a WebSocket API does (API Gateway's in AWS, `local_stack.live_metrics` on `make run`), behind
the same credentials. It is in the document so the API's readers find it with the rest; the operation is
marked `x-dumont-websocket`, and what reads the document as a route table (`infra.topology.routes_of`)
leaves it out."""

from __future__ import annotations

from typing import Any

from api.responses import RETRY_AFTER_HEADER
from api.routing import CALLER_EXTENSION, PERMISSION_EXTENSION, WEBSOCKET_EXTENSION
from dumont_core.live.models import LiveMetrics

LIVE_METRICS_PATH = "/ws/instance/{instance_id}/metrics"
MESSAGE_SCHEMA = "LiveMetricsMessage"

DESCRIPTION = (
    "Open a WebSocket here (`wss://` in AWS, `ws://` on the local stack): a `GET` with `Upgrade: websocket`. "
    "Each heartbeat of the instance's agent is then pushed as a text message, a `LiveMetricsMessage` "
    "(seed 002), about one a minute in AWS. What the client sends is ignored.\n\n"
    "**Credentials** are the REST API's, checked by the same access service: `?token=` with an access token "
    "or an API key (browsers cannot set headers on a WebSocket), or the `Authorization: Bearer …` / "
    "`X-API-Key` headers. A connection counts as one request against your plan. A refusal is answered "
    "before the upgrade, with the error envelope."
)


def _refusal(description: str, **extra: Any) -> dict[str, Any]:
    envelope = {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}
    return {"description": description, "content": {"application/json": envelope}, **extra}


def live_metrics_path() -> dict[str, Any]:
    """The path item of live metrics: one GET, the upgrade."""
    instance_id = {"type": "string", "maxLength": 64, "description": "Instance id, e.g. inst_3f9c…"}
    token = {"type": "string", "description": "An access token or an API key (dumont_sk_…)"}
    operation = {
        "operationId": "watch_live_metrics",
        "summary": "Watch an instance's live metrics (WebSocket)",
        "description": DESCRIPTION,
        "tags": ["Instances"],
        "parameters": [
            {"name": "instance_id", "in": "path", "required": True, "schema": instance_id},
            {"name": "token", "in": "query", "required": False, "schema": token},
        ],
        "security": [{"accessToken": []}, {"apiKey": []}],
        "responses": {
            "101": {
                "description": "Switching Protocols: the WebSocket is open; each heartbeat pushes a "
                f"`{MESSAGE_SCHEMA}` until either side closes it",
            },
            "400": _refusal("No instance id in the path (VALIDATION_ERROR)"),
            "401": _refusal("Missing, unknown, expired or revoked credentials (UNAUTHENTICATED)"),
            "403": _refusal("Your role does not grant `instances.view` (FORBIDDEN)"),
            "404": _refusal("No such instance in your team, another team's included (INSTANCE_NOT_FOUND)"),
            "409": _refusal("100 connections already watch the instance (TOO_MANY_CONNECTIONS)"),
            "426": {"description": "A plain HTTP request, not a WebSocket upgrade"},
            "429": _refusal(
                "Past your plan's limit (RATE_LIMITED); no connection was made",
                headers={"Retry-After": RETRY_AFTER_HEADER},
            ),
        },
        CALLER_EXTENSION: "member",
        PERMISSION_EXTENSION: "instances.view",
        WEBSOCKET_EXTENSION: True,
    }
    return {"get": operation}


def message_schema() -> dict[str, Any]:
    """What each message pushed over the WebSocket holds."""
    schema = LiveMetrics.model_json_schema()
    schema["title"] = MESSAGE_SCHEMA
    return schema
