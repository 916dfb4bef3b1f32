"""What the instances domain tells serverless mode of: an instance created with it on, a machine given
back for hibernation, a hibernated instance awake again. Kept apart from the service so that the
instances' own functions can tell it without loading the rest of serverless mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dumont_core.serverless.models import Hibernation
from dumont_core.serverless.repository import ServerlessRepository


@dataclass(frozen=True, kw_only=True)
class HibernationLedger:
    """The instances the idle check watches, and the record of hibernations: what the instances domain
    tells serverless mode of (an instance created with it on, a machine given back, an instance awake)."""

    repository: ServerlessRepository

    def watch(self, team_id: str, instance_id: str) -> None:
        self.repository.watch(team_id, instance_id)

    def record_hibernation(
        self,
        team_id: str,
        instance_id: str,
        hibernated_at: datetime,
        reason: str,
        savings_per_hour: float,
        snapshot_id: str,
    ) -> None:
        self.repository.record_hibernation(
            Hibernation(
                team_id=team_id,
                instance_id=instance_id,
                hibernated_at=hibernated_at,
                reason=reason,
                savings_per_hour=savings_per_hour,
                snapshot_id=snapshot_id,
            )
        )

    def record_wake(self, team_id: str, instance_id: str, hibernated_at: datetime, woke_at: datetime) -> None:
        self.repository.record_wake(team_id, instance_id, hibernated_at, woke_at)
