"""What an instance is charged: its own machine (running, and its disk while stopped), and its standbys
(failover), from when one is held until it is released, at the standby's own price whatever its state.
The change that releases or reprices a standby, or takes the instance out of `stopped`, closes the
interval in progress in the same conditional write, so no second of it is lost or billed twice. What the
instance shows as `cost_accumulated` is what the meter charges for all of it, margin included."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dumont_core.instances.models import Instance, InstanceStatus, Standby
from dumont_core.platform.money import to_micros, to_usd

STANDBY_LINE = "standby"
"""How the standby's charges are told apart from its instance's in the history."""


def standby_open_seconds(instance: Instance, now: datetime) -> float:
    if instance.standby_billed_since is None or instance.standby is None:
        return 0.0
    return max((now - instance.standby_billed_since).total_seconds(), 0.0)


def standby_cost_at(instance: Instance, now: datetime) -> float:
    """What the instance's standbys have cost until `now`, unrounded."""
    price = instance.standby.cost_per_hour if instance.standby is not None else 0.0
    return instance.standby_closed_cost + price * standby_open_seconds(instance, now) / 3600


def standby_seconds_at(instance: Instance, now: datetime) -> float:
    return instance.standby_billed_seconds + standby_open_seconds(instance, now)


def _standby_changes(instance: Instance, standby: Standby | None, now: datetime) -> dict[str, Any]:
    # Every change of the standby closes its interval at the price it had and opens one at the new one.
    changes: dict[str, Any] = {"standby_billed_since": now if standby is not None else None}
    if instance.standby_billed_since is not None:
        changes["standby_closed_cost"] = standby_cost_at(instance, now)
        changes["standby_billed_seconds"] = standby_seconds_at(instance, now)
    return changes


def idle_billing_changes(instance: Instance, changes: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """What `changes` to the instance at `now` change in what it is billed for machines it keeps idle."""
    extra: dict[str, Any] = {}
    if "standby" in changes and changes["standby"] != instance.standby:
        extra.update(_standby_changes(instance, changes["standby"], now))
    elif changes.get("status") == InstanceStatus.DELETED and instance.standby_billed_since is not None:
        # A deleted instance's standby is destroyed with its machine, though the record may still name it.
        extra.update(_standby_changes(instance, None, now))
    leaves_stopped = changes.get("status", instance.status) != InstanceStatus.STOPPED
    if instance.stopped_since is not None and leaves_stopped and "stopped_since" not in changes:
        extra["closed_cost"] = instance.closed_cost + instance.stopped_cost_at(now)
        extra["stopped_since"] = None
    return extra


def stopped_at(instance: Instance, now: datetime, stopped_price: float | None) -> dict[str, Any]:
    """The changes that stop billing the instance's running machine at `now` and start billing its disk,
    at `stopped_price`, what the provider reports the stopped machine costs. A price no lower than the
    running one says nothing of the disk (a provider that keeps reporting the running price): not charged."""
    running_price = instance.cost_per_hour or 0.0
    disk = stopped_price if stopped_price is not None and stopped_price < running_price else 0.0
    stopped = {**instance.billing_stopped_at(now), "stopped_cost_per_hour": disk}
    return {**stopped, "stopped_since": now} if disk > 0 else stopped


def cost_accumulated_at(instance: Instance, now: datetime, margin: float) -> float:
    """What the meter charges for the instance until `now`, its machine's and its standbys' lines with the
    platform's margin, each to the micro-dollar as charged: what its `cost_accumulated` shows, in dollars."""
    machine = to_micros(instance.cost_at(now) * (1 + margin))
    standbys = to_micros(standby_cost_at(instance, now) * (1 + margin))
    return round(to_usd(machine + standbys), 4)
