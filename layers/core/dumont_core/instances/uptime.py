"""How long our machines at each provider ran and how long they were down, as they lived it: the
figures behind a provider's `uptime_percent`.

Every transition of an instance is tallied after it is written (`tally`): a billed interval that closes
adds its seconds to the provider's run time; an interruption adds one interruption and the time from the
machine's death until it was confirmed (a drill, asked for on a healthy machine, is left out); a
failover that completes adds the time from its start until the instance ran again. They are kept per
provider and day in one partition (`UPTIME`, `DAY#{day}#{provider}`), added in place, so that every
provider's last month is one Query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from dumont_core.instances.models import Instance, InstanceStatus, InterruptionReason
from dumont_core.platform import table
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.dynamodb import TableItem
from dumont_core.platform.models import DomainModel

logger = Logger(child=True)


class UptimeDelta(DomainModel):
    run_seconds: float = 0.0
    down_seconds: float = 0.0
    interruptions: int = 0

    @property
    def empty(self) -> bool:
        return not (self.run_seconds or self.down_seconds or self.interruptions)


class ProviderUptime(DomainModel):
    """A provider's machines as ours lived them over `days` days."""

    provider: str
    days: int
    run_seconds: float
    down_seconds: float
    interruptions: int

    @property
    def percent(self) -> float | None:
        """The share of the time our instances wanted one of its machines that they had one."""
        wanted = self.run_seconds + self.down_seconds
        return round(100 * self.run_seconds / wanted, 3) if wanted > 0 else None


def tally(instance: Instance, changes: Mapping[str, Any]) -> UptimeDelta:
    """What the transition of `instance` by `changes` adds to its provider's run and down time."""
    now: datetime = changes["updated_at"]
    run = down = 0.0
    interruptions = 0
    closed = "running_since" in changes and changes["running_since"] is None
    if closed and instance.running_since is not None and "billed_seconds" in changes:
        run = max(float(changes["billed_seconds"]) - instance.billed_seconds, 0.0)
    if _drill(changes):
        # Asked for on a healthy machine: neither the provider's down time nor, in the request that asks
        # for it, worth a write more; the interval it closes is left out.
        return UptimeDelta()
    if changes.get("status") == InstanceStatus.INTERRUPTED and instance.status == InstanceStatus.RUNNING:
        interruptions = 1
        if instance.running_since is not None:
            died_at = instance.running_since + timedelta(seconds=run)
            down = max((now - died_at).total_seconds(), 0.0)
    recovered = "failing_over_since" in changes and changes["failing_over_since"] is None
    back = changes.get("status") == InstanceStatus.RUNNING
    if recovered and back and instance.failing_over_since is not None:
        down += max((now - instance.failing_over_since).total_seconds(), 0.0)
    return UptimeDelta(run_seconds=run, down_seconds=down, interruptions=interruptions)


def _drill(changes: Mapping[str, Any]) -> bool:
    return f"({InterruptionReason.DRILL.value})" in str(changes.get("status_reason") or "")


class UptimeItem(TableItem):
    provider = UnicodeAttribute()
    day = UnicodeAttribute()
    run_seconds = NumberAttribute(default=0)
    down_seconds = NumberAttribute(default=0)
    interruptions = NumberAttribute(default=0)


class UptimeRepository:
    def add(self, provider: str, day: str, delta: UptimeDelta) -> None:
        """Added in place: counters of many machines, which no condition could order."""
        item = UptimeItem(table.UPTIME_PARTITION, table.uptime_day_key(day, provider))
        item.update(
            actions=[
                UptimeItem.provider.set(provider),
                UptimeItem.day.set(day),
                UptimeItem.run_seconds.add(delta.run_seconds),
                UptimeItem.down_seconds.add(delta.down_seconds),
                UptimeItem.interruptions.add(delta.interruptions),
            ]
        )

    def days(self, first_day: str, last_day: str) -> list[UptimeItem]:
        """Every provider's days from `first_day` to `last_day` (ISO dates), in one Query."""
        return list(
            UptimeItem.query(
                table.UPTIME_PARTITION,
                UptimeItem.SK.between(
                    table.uptime_day_key(first_day, ""), table.uptime_day_key(last_day, "~")
                ),
            )
        )


@dataclass(frozen=True, kw_only=True)
class UptimeService:
    repository: UptimeRepository
    clock: Clock = utc_now

    def record(self, instance: Instance, changes: Mapping[str, Any]) -> None:
        """Tally a transition that was written; a failure here never undoes or fails the transition."""
        delta = tally(instance, changes)
        if delta.empty:
            return
        try:
            self.repository.add(instance.provider, changes["updated_at"].date().isoformat(), delta)
        except Exception:
            logger.exception(
                "Could not tally a provider's uptime", extra={"instance_id": instance.instance_id}
            )

    def uptime(self, provider: str, days: int) -> ProviderUptime:
        """The provider's run and down time over the last `days` days (UTC), today included."""
        found = self.uptimes(days).get(provider)
        return found or ProviderUptime(
            provider=provider, days=days, run_seconds=0, down_seconds=0, interruptions=0
        )

    def uptimes(self, days: int) -> dict[str, ProviderUptime]:
        """Each provider's run and down time over the last `days` days (UTC), today included, by provider
        name: one Query for all of them."""
        today = self.clock().date()
        items = self.repository.days((today - timedelta(days=days - 1)).isoformat(), today.isoformat())
        by_provider: dict[str, list[UptimeItem]] = {}
        for item in items:
            by_provider.setdefault(item.provider, []).append(item)
        return {
            provider: ProviderUptime(
                provider=provider,
                days=days,
                run_seconds=sum(float(item.run_seconds) for item in found),
                down_seconds=sum(float(item.down_seconds) for item in found),
                interruptions=sum(int(item.interruptions) for item in found),
            )
            for provider, found in by_provider.items()
        }
