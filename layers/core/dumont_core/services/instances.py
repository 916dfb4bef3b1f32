"""What users ask of their instances. Each change is recorded, then carried out by a workflow."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from dumont_core.data.instances import InstanceRepository, StaleInstanceState
from dumont_core.data.serverless import ServerlessRepository
from dumont_core.errors import InstanceNotFound, InvalidState, ServiceUnavailable
from dumont_core.events import EventPublisher
from dumont_core.models import (
    DELETABLE_STATES,
    POWER_ACTIONS,
    EventType,
    FailoverStrategy,
    Instance,
    InstanceEvent,
    InstanceStatus,
    PowerAction,
    Principal,
    utc_now,
)
from dumont_core.settings import Settings
from dumont_core.workflows import Workflow, WorkflowStarter

logger = Logger(child=True)

DEFAULT_IDLE_TIMEOUT_MINUTES = 15
# GPU utilisation (%) under which a serverless instance counts as idle.
DEFAULT_GPU_THRESHOLD = 5.0


@dataclass(frozen=True)
class InstanceSpec:
    """A validated request for a new instance, in canonical spellings."""

    gpu_type: str
    image: str
    disk_gb: int
    region: str | None = None
    num_gpus: int = 1
    name: str | None = None
    ssh_key: str | None = None
    failover_enabled: bool = False
    failover_strategy: FailoverStrategy | None = None
    auto_hibernate: bool = False


@dataclass(frozen=True)
class InstancePage:
    items: list[Instance]
    page: int
    per_page: int
    total: int


def team_instance(instances: InstanceRepository, principal: Principal, instance_id: str) -> Instance:
    """The caller's team's instance; InstanceNotFound for any other, so teams never learn of each other's."""
    instance = instances.get(principal.team_id, instance_id)
    if instance is None:
        raise InstanceNotFound(instance_id)
    return instance


def new_instance_id() -> str:
    return f"inst_{secrets.token_hex(8)}"


def workflow_input(instance: Instance, poll_seconds: int) -> dict[str, Any]:
    return {
        "instance": {"team_id": instance.team_id, "instance_id": instance.instance_id},
        "config": {"poll_seconds": poll_seconds},
    }


class InstanceService:
    def __init__(
        self,
        repository: InstanceRepository,
        publisher: EventPublisher,
        workflows: WorkflowStarter,
        settings: Settings,
        clock: Callable[[], datetime] = utc_now,
        watches: ServerlessRepository | None = None,
    ) -> None:
        self._watches = watches
        self._repository = repository
        self._publisher = publisher
        self._workflows = workflows
        self._settings = settings
        self._clock = clock

    def create(self, principal: Principal, spec: InstanceSpec) -> Instance:
        now = self._clock()
        instance = Instance(
            instance_id=new_instance_id(),
            account_id=principal.account_id,
            team_id=principal.team_id,
            name=spec.name,
            gpu_type=spec.gpu_type,
            num_gpus=spec.num_gpus,
            requested_region=spec.region,
            region=spec.region,
            image=spec.image,
            disk_gb=spec.disk_gb,
            ssh_key=spec.ssh_key,
            failover_enabled=spec.failover_enabled,
            failover_strategy=spec.failover_strategy if spec.failover_enabled else None,
            auto_hibernate=spec.auto_hibernate,
            idle_timeout_minutes=DEFAULT_IDLE_TIMEOUT_MINUTES if spec.auto_hibernate else None,
            idle_gpu_threshold=DEFAULT_GPU_THRESHOLD if spec.auto_hibernate else None,
            status=InstanceStatus.STARTING,
            created_at=now,
            updated_at=now,
        )
        created = InstanceEvent.of(
            EventType.CREATED,
            instance,
            gpu_type=instance.gpu_type,
            region=instance.region,
            image=instance.image,
        )
        self._repository.create(instance, created)
        self._publisher.publish([created])
        if instance.auto_hibernate and self._watches is not None:
            self._watches.watch(instance.team_id, instance.instance_id)
        try:
            self._workflows.start(
                Workflow.PROVISION,
                f"{instance.instance_id}-provision",
                workflow_input(instance, self._settings.boot_poll_seconds),
            )
        except Exception as error:
            logger.exception("Could not start provisioning", extra={"instance_id": instance.instance_id})
            self._fail_unstarted(instance, InstanceStatus.STARTING, "provisioning could not be started")
            raise ServiceUnavailable("Provisioning could not be started; please try again") from error
        return instance

    def get(self, principal: Principal, instance_id: str) -> Instance:
        return team_instance(self._repository, principal, instance_id)

    def list_page(
        self,
        principal: Principal,
        *,
        status: InstanceStatus | None,
        gpu_type: str | None,
        page: int,
        per_page: int,
    ) -> InstancePage:
        instances = self._repository.list_for_team(principal.team_id, status=status, gpu_type=gpu_type)
        start = (page - 1) * per_page
        return InstancePage(
            items=instances[start : start + per_page], page=page, per_page=per_page, total=len(instances)
        )

    def list_all(self, principal: Principal) -> list[Instance]:
        return self._repository.list_for_team(principal.team_id)

    def events(self, principal: Principal, instance_id: str) -> list[InstanceEvent]:
        self.get(principal, instance_id)
        return self._repository.list_events(instance_id)

    def request_power_action(self, principal: Principal, instance_id: str, action: PowerAction) -> Instance:
        allowed, interim, _ = POWER_ACTIONS[action]
        return self._begin_change(
            principal, instance_id, action.value, allowed, interim, Workflow(action.value)
        )

    def delete(self, principal: Principal, instance_id: str) -> Instance:
        return self._begin_change(
            principal, instance_id, "delete", DELETABLE_STATES, InstanceStatus.DELETING, Workflow.DESTROY
        )

    def _begin_change(
        self,
        principal: Principal,
        instance_id: str,
        action: str,
        allowed: frozenset[InstanceStatus],
        interim: InstanceStatus,
        workflow: Workflow,
    ) -> Instance:
        instance = self.get(principal, instance_id)
        allowed_names = sorted(status.value for status in allowed)
        if instance.status not in allowed:
            raise InvalidState(instance_id, action, instance.status.value, allowed_names)
        try:
            updated = self._repository.transition(
                instance,
                expected=allowed,
                changes={"status": interim, "status_reason": None, "updated_at": self._clock()},
            )
        except StaleInstanceState:
            current = self.get(principal, instance_id)
            raise InvalidState(instance_id, action, current.status.value, allowed_names) from None
        execution = f"{instance_id}-{action}-{secrets.token_hex(4)}"
        try:
            self._workflows.start(
                workflow, execution, workflow_input(updated, self._settings.boot_poll_seconds)
            )
        except Exception as error:
            logger.exception("Could not start workflow", extra={"instance_id": instance_id, "action": action})
            self._revert(updated, instance)
            raise ServiceUnavailable(
                f"Could not {action} the instance right now; please try again"
            ) from error
        return updated

    def _revert(self, changed: Instance, original: Instance) -> None:
        with contextlib.suppress(StaleInstanceState):
            self._repository.transition(
                changed,
                expected=[changed.status],
                changes={"status": original.status, "updated_at": self._clock()},
            )

    def _fail_unstarted(self, instance: Instance, expected: InstanceStatus, reason: str) -> None:
        failed = InstanceEvent.of(EventType.FAILED, instance, reason=reason)
        try:
            self._repository.transition(
                instance,
                expected=[expected],
                changes={
                    "status": InstanceStatus.FAILED,
                    "status_reason": reason,
                    "updated_at": self._clock(),
                },
                events=[failed],
            )
        except StaleInstanceState:
            return
        self._publisher.publish([failed])
