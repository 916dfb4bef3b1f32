"""The events a subscription may choose: every event whose JSON Schema is in the catalog, `events/domain/`
(shipped inside the core layer as `dumont_core/event_catalog/`). A new event is deliverable as soon as its
schema is there."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve()
CATALOG_DIRS = (_HERE.parent.parent / "event_catalog", _HERE.parents[4] / "events" / "domain")
"""Where the schemas are: the copy in the deployed layer, else the source tree's."""


@cache
def event_types() -> frozenset[str]:
    for directory in CATALOG_DIRS:
        if directory.is_dir():
            return frozenset(path.name.removesuffix(".json") for path in directory.glob("*.json"))
    raise RuntimeError("The event catalog (events/domain) is missing from this deployment")
