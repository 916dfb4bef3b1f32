"""Starting the Step Functions workflows that carry out changes (ASL files in `infra/statemachines/`)."""

from __future__ import annotations

import contextlib
import json
from enum import StrEnum
from typing import Any, Protocol

from dumont_core.platform.aws import aws_client
from dumont_core.platform.settings import WorkflowSettings, load_settings


class Workflow(StrEnum):
    PROVISION = "provision"
    START = "start"
    STOP = "stop"
    REBOOT = "reboot"
    DESTROY = "destroy"
    SNAPSHOT = "snapshot"
    RESTORE = "restore"
    WAKE = "wake"
    CPU_FAILOVER = "cpu_failover"
    WARMPOOL_STANDBY = "warmpool_standby"
    """Rent a standby for an instance, restore its last checkpoint onto it, and stop it."""
    WARMPOOL_FAILOVER = "warmpool_failover"
    """Start the standby, restore what changed since, and switch the instance onto it."""


class WorkflowStarter(Protocol):
    def start(self, workflow: Workflow, execution_name: str, payload: dict[str, Any]) -> None: ...


def workflow_payload(team_id: str, instance_id: str, **more: Any) -> dict[str, Any]:
    """What every workflow of an instance starts from: the instance it works on, and more."""
    return {"instance": {"team_id": team_id, "instance_id": instance_id}, **more}


class StepFunctionsStarter:
    """Starts executions of the deployed state machines, adding how their steps poll and wait.

    The state machines' ARNs are read on the first start: functions that never start a workflow (the
    workflow steps themselves) need not know them.
    """

    def start(self, workflow: Workflow, execution_name: str, payload: dict[str, Any]) -> None:
        settings = load_settings(WorkflowSettings)
        arn: str = getattr(settings, f"{workflow.value}_state_machine_arn")
        config = {
            "poll_seconds": settings.boot_poll_seconds,
            "agent_timeout_seconds": settings.agent_action_timeout_seconds,
        }
        stepfunctions = aws_client("stepfunctions")
        # The execution name makes a retried request start the same execution, not a second one.
        with contextlib.suppress(stepfunctions.exceptions.ExecutionAlreadyExists):
            stepfunctions.start_execution(
                stateMachineArn=arn, name=execution_name, input=json.dumps({**payload, "config": config})
            )
