"""The JSON Schema of every domain event (`events/domain/`), published to an EventBridge schema registry
so that consumers find them next to the bus and can generate code bindings from them.

EventBridge takes OpenAPI 3 or JSON Schema draft 4 documents of the whole event; ours are draft 2020-12
documents of its `detail`. Each is wrapped as the `detail` of an event whose `detail-type` is its name,
with what draft 4 spells otherwise rewritten: `const` as a one-value `enum`, a numeric
`exclusiveMinimum`/`exclusiveMaximum` as the bound with the draft 4 flag.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import aws_eventschemas as eventschemas
from constructs import Construct

from infra.topology import DOMAIN_EVENT_SOURCE_PREFIX, EVENT_BUS_NAME, REPO_ROOT

EVENT_CATALOG_DIR = REPO_ROOT / "events" / "domain"
REGISTRY_NAME = "dumont-events"
DRAFT_4 = "http://json-schema.org/draft-04/schema#"
_DROPPED = {"$schema", "$id", "examples"}


_REWRITTEN = {"const", "exclusiveMinimum", "exclusiveMaximum"}


def _draft4(node: Any) -> Any:
    if isinstance(node, dict):
        converted = {
            key: _draft4(value)
            for key, value in node.items()
            if key not in _DROPPED and key not in _REWRITTEN
        }
        if "const" in node:
            converted["enum"] = [node["const"]]
        for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(node.get(exclusive), int | float) and not isinstance(node[exclusive], bool):
                converted[bound] = node[exclusive]
                converted[exclusive] = True
        return converted
    if isinstance(node, list):
        return [_draft4(item) for item in node]
    return node


def eventbridge_schema(detail_schema: dict[str, Any]) -> dict[str, Any]:
    """The draft 4 schema of the EventBridge event whose `detail` `detail_schema` describes."""
    name = detail_schema["title"]
    return {
        "$schema": DRAFT_4,
        "title": name,
        "description": detail_schema["description"],
        "type": "object",
        "required": ["detail-type", "source", "detail"],
        "properties": {
            "detail-type": {"type": "string", "enum": [name]},
            "source": {"type": "string", "pattern": f"^{DOMAIN_EVENT_SOURCE_PREFIX.replace('.', '[.]')}"},
            "detail": _draft4(detail_schema),
        },
    }


def catalog(directory: Path = EVENT_CATALOG_DIR) -> dict[str, dict[str, Any]]:
    """Every event's schema by its name."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def schema_name(event: str) -> str:
    return f"{EVENT_BUS_NAME}@{event}"


class EventSchemas(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.registry = eventschemas.CfnRegistry(
            self,
            "Registry",
            registry_name=REGISTRY_NAME,
            description=f"The domain events of the `{EVENT_BUS_NAME}` bus, one schema per detail-type",
        )
        for event, detail_schema in catalog().items():
            schema = eventschemas.CfnSchema(
                self,
                f"Schema-{event}",
                registry_name=REGISTRY_NAME,
                schema_name=schema_name(event),
                type="JSONSchemaDraft4",
                content=json.dumps(eventbridge_schema(detail_schema)),
                description=detail_schema["description"][:256],
            )
            schema.add_dependency(self.registry)
