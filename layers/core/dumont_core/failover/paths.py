"""How an interrupted instance comes back, one path per failover strategy, and the standby machines
the strategies keep ready meanwhile.

Every path ends in the same place: the instance running again under its own id, team and SSH key.
A path that cannot bring it back (no standby ready, the standby dead too) hands over to the snapshot
path, which rents a new machine and restores the last snapshot: a second failure midway costs time,
never the workspace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from aws_lambda_powertools import Logger

from dumont_core.instances.models import (
    EventType,
    FailoverStrategy,
    Instance,
    InstanceEvent,
    InstanceStatus,
    StaleInstanceState,
)
from dumont_core.instances.service import InstanceService
from dumont_core.platform.errors import DumontError, InsufficientBalance
from dumont_core.snapshots.service import SnapshotService

logger = Logger(child=True)

NOT_RECOVERED = "; not recovered: "
"""Appended to an interrupted instance's reason when its failover is refused for lack of credit."""


class FailoverPath(Protocol):
    """One strategy's way back, and what it keeps ready for it."""

    def recover(self, instance: Instance) -> Instance | None:
        """Start bringing the interrupted `instance` back; None when this path cannot."""
        ...

    def prepare(self, instance: Instance) -> None:
        """The running `instance`'s machine looks dead, not confirmed yet: start what takes long at
        failover time, if that costs little should the machine live after all."""
        ...

    def keep_ready(self, instance: Instance) -> None:
        """Called on every housekeeping run for each running instance of this strategy: rent, sync or
        refill what the path needs at failover time."""
        ...

    def release(self, instance: Instance) -> None:
        """The instance no longer uses this strategy (failover off, another strategy): give back what
        `keep_ready` holds."""
        ...


@dataclass(frozen=True, kw_only=True)
class SnapshotPath:
    """Rent a new machine and restore the last snapshot onto it (the wake workflow)."""

    snapshots: SnapshotService

    def recover(self, instance: Instance) -> Instance | None:
        return self.snapshots.recover(instance)

    def prepare(self, instance: Instance) -> None:
        """Renting before the death is confirmed would bill a machine for every false alarm."""

    def keep_ready(self, instance: Instance) -> None:
        """Checkpoints are all it needs, and every strategy takes those."""

    def release(self, instance: Instance) -> None:
        """It holds nothing."""


@dataclass(frozen=True, kw_only=True)
class FailoverRecovery:
    """The instances domain's `Recovery`: the path of the instance's strategy, then the snapshot's."""

    instances: InstanceService
    fallback: FailoverPath
    """The snapshot's path, where every other ends when it cannot bring the instance back."""
    paths: Mapping[FailoverStrategy, FailoverPath] = field(default_factory=dict)

    def path_of(self, instance: Instance) -> FailoverPath:
        strategy = instance.failover_strategy or FailoverStrategy.SNAPSHOT
        return self.paths.get(strategy, self.fallback)

    def recover(self, instance: Instance) -> Instance | None:
        path = self.path_of(instance)
        if path is not self.fallback:
            try:
                recovering = path.recover(instance)
            except InsufficientBalance as error:
                self._refused(instance, error)  # the snapshot's path would rent a machine too
                return None
            except DumontError as error:
                logger.warning(
                    "The strategy's own path failed; falling back to the last snapshot",
                    extra={"instance_id": instance.instance_id, "why": str(error)},
                )
                recovering = None
            if recovering is not None:
                return recovering
        return self.fallback.recover(instance)

    def prepare(self, instance: Instance) -> None:
        """The first look that suspects `instance` lets its strategy's path get ready; a path that cannot
        is no reason to stop looking at the others."""
        try:
            self.path_of(instance).prepare(instance)
        except DumontError as error:
            logger.warning(
                "Could not prepare a failover", extra={"instance_id": instance.instance_id, "why": str(error)}
            )

    def _refused(self, instance: Instance, error: InsufficientBalance) -> None:
        """The team cannot pay for the machine the failover would rent: nothing is rented, and the instance
        stays interrupted, recoverable from its last snapshot once the team tops up (a wake), saying why."""
        reason = (instance.status_reason or "interrupted").split(NOT_RECOVERED)[0]
        failed = InstanceEvent.of(
            EventType.FAILOVER_FAILED, instance, strategy=instance.failover_strategy, reason=error.message
        )
        try:
            self.instances.transition(
                instance,
                expected=[InstanceStatus.INTERRUPTED],
                changes={"status_reason": f"{reason}{NOT_RECOVERED}{error.message}"},
                events=[failed],
            )
        except StaleInstanceState:
            logger.info("Refused failover of an instance that moved on", extra={"id": instance.instance_id})

    def keep_ready(self) -> list[str]:
        """Let each running instance's path prepare for a failover; the ids of the instances looked at."""
        looked_at = []
        for instance in self.instances.running():
            if not instance.failover_enabled:
                continue
            try:
                self.path_of(instance).keep_ready(instance)
            except DumontError as error:
                logger.warning(
                    "Could not keep a standby ready",
                    extra={"instance_id": instance.instance_id, "why": str(error)},
                )
                continue
            looked_at.append(instance.instance_id)
        return looked_at

    def release(self, instance: Instance, strategy: FailoverStrategy | None) -> None:
        """`instance` no longer uses `strategy`: whatever that strategy's path kept for it goes back."""
        path = self.paths.get(strategy or FailoverStrategy.SNAPSHOT, self.fallback)
        path.release(instance)
