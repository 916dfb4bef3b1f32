"""Workflows recorded instead of started, or refusing to start, and what their failures hand on."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dumont_core.platform.workflows import Workflow


@dataclass
class RecordingStarter:
    fail_with: Exception | None = None
    started: list[tuple[Workflow, str, dict[str, Any]]] = field(default_factory=list)

    def start(self, workflow: Workflow, execution_name: str, payload: dict[str, Any]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.started.append((workflow, execution_name, payload))


def step_failure(error: Exception) -> dict[str, Any]:
    """What a Step Functions Catch puts in `$.failure` for a Lambda task that raised `error`."""
    cause = {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": []}
    return {"Error": type(error).__name__, "Cause": json.dumps(cause)}
