"""What the instances domain tells serverless mode of: an instance created with it on, a machine given
back for hibernation, a hibernated instance awake again. Kept apart from the service so that the
instances' own functions can tell it without loading the rest of serverless mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dumont_core.instances.models import Instance
from dumont_core.serverless.models import Hibernation
from dumont_core.serverless.repository import ServerlessRepository


@dataclass(frozen=True, kw_only=True)
class HibernationLedger:
    """The instances the idle check watches, and the record of hibernations: what the instances domain
    tells serverless mode of (an instance created with it on, a machine given back, an instance awake)."""

    repository: ServerlessRepository

    def watch(self, team_id: str, instance_id: str) -> None:
        self.repository.watch(team_id, instance_id)

    def hibernated(self, instance: Instance) -> None:
        if instance.hibernated_at is None or instance.last_snapshot_id is None:
            return
        self.repository.record_hibernation(
            Hibernation(
                team_id=instance.team_id,
                instance_id=instance.instance_id,
                hibernated_at=instance.hibernated_at,
                reason=instance.status_reason or "hibernated",
                savings_per_hour=instance.savings_per_hour,
                snapshot_id=instance.last_snapshot_id,
            )
        )

    def deleted(self, instance: Instance, deleted_at: datetime) -> None:
        if instance.hibernated_at is not None:
            self.repository.record_deletion(
                instance.team_id, instance.instance_id, instance.hibernated_at, deleted_at
            )

    def woke(self, instance: Instance, woke_at: datetime) -> None:
        if instance.hibernated_at is not None:
            self.repository.record_wake(
                instance.team_id, instance.instance_id, instance.hibernated_at, woke_at
            )
