"""Starting the Step Functions workflows that carry out instance changes."""

from __future__ import annotations

import contextlib
import json
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, cast

from dumont_core.aws_clients import aws_client
from dumont_core.models import PowerAction
from dumont_core.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


class Workflow(StrEnum):
    PROVISION = "provision"
    START = "start"
    STOP = "stop"
    REBOOT = "reboot"
    DESTROY = "destroy"
    SNAPSHOT = "snapshot"
    RESTORE = "restore"
    WAKE = "wake"

    @classmethod
    def for_power_action(cls, action: PowerAction) -> Workflow:
        return cls(action.value)


class WorkflowStarter(Protocol):
    def start(self, workflow: Workflow, execution_name: str, payload: dict[str, Any]) -> None: ...


class StepFunctionsStarter:
    def __init__(self, client: SFNClient | None, settings: Settings) -> None:
        self._client = client
        self._arns: dict[Workflow, str | None] = {
            Workflow.PROVISION: settings.provision_state_machine_arn,
            Workflow.START: settings.start_state_machine_arn,
            Workflow.STOP: settings.stop_state_machine_arn,
            Workflow.REBOOT: settings.reboot_state_machine_arn,
            Workflow.DESTROY: settings.destroy_state_machine_arn,
            Workflow.SNAPSHOT: settings.snapshot_state_machine_arn,
            Workflow.RESTORE: settings.restore_state_machine_arn,
            Workflow.WAKE: settings.wake_state_machine_arn,
        }

    def start(self, workflow: Workflow, execution_name: str, payload: dict[str, Any]) -> None:
        arn = self._arns[workflow]
        if not arn:
            raise RuntimeError(f"no state machine is configured for the {workflow} workflow")
        # The execution name makes a retried request start the same execution, not a second one.
        if self._client is None:
            # Made on first use: read-only requests never pay for creating it.
            self._client = cast("SFNClient", aws_client("stepfunctions"))
        with contextlib.suppress(self._client.exceptions.ExecutionAlreadyExists):
            self._client.start_execution(stateMachineArn=arn, name=execution_name, input=json.dumps(payload))
