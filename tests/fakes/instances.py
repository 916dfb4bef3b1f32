"""Instances kept in a dict, with the repository's contract: conditional transitions, events written with
them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dumont_core.instances.models import Instance, InstanceEvent, InstanceStatus, StaleInstanceState


def an_instance(created_at: datetime, **fields: Any) -> Instance:
    """A running RTX 4090 instance of team_1, created at `created_at`; `fields` change any of its fields."""
    defaults: dict[str, Any] = {
        "instance_id": "inst_1",
        "account_id": "acct_1",
        "team_id": "team_1",
        "gpu_type": "RTX_4090",
        "image": "pytorch/pytorch:latest",
        "disk_gb": 50,
        "status": InstanceStatus.RUNNING,
        "created_at": created_at,
        "updated_at": created_at,
    }
    return Instance.model_validate({**defaults, **fields})


class MemoryInstances:
    def __init__(self) -> None:
        self.instances: dict[str, Instance] = {}
        self.events: list[InstanceEvent] = []

    def get(self, team_id: str, instance_id: str) -> Instance | None:
        instance = self.instances.get(instance_id)
        return instance if instance is not None and instance.team_id == team_id else None

    def list_for_team(self, team_id: str, **_filters: Any) -> list[Instance]:
        return [instance for instance in self.instances.values() if instance.team_id == team_id]

    def running(self) -> list[Instance]:
        return [instance for instance in self.instances.values() if instance.status == InstanceStatus.RUNNING]

    def create(self, instance: Instance, event: InstanceEvent) -> None:
        self.instances[instance.instance_id] = instance
        self.events.append(event)

    def transition(
        self,
        instance: Instance,
        *,
        expected: Iterable[Any],
        changes: Mapping[str, Any],
        events: Iterable[InstanceEvent] = (),
        unchanged: bool = False,
        standby_was: Any = False,
    ) -> Instance:
        current = self.instances[instance.instance_id]
        if current.status not in set(expected) or (unchanged and current.updated_at != instance.updated_at):
            raise StaleInstanceState(instance.instance_id)
        if standby_was is not False and current.standby != standby_was:
            raise StaleInstanceState(instance.instance_id)
        updated = instance.model_copy(update=dict(changes))
        self.instances[instance.instance_id] = updated
        self.events.extend(events)
        return updated

    def add_event(self, event: InstanceEvent) -> None:
        self.events.append(event)
