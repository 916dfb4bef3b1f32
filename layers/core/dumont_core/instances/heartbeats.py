"""How often an instance's agent is asked to report, and how long its silence must last to be a signal.

Most agents beat once a `regular` interval. Two kinds beat every `listened` interval instead: the agent of
an instance with failover on, whose silence (a network partition) the interruption watch must notice in
seconds, and the agent of an instance being started or woken, whose workflow waits on it to pick up an
action (a restore). Each heartbeat's answer tells the agent its next interval, and the instance keeps
the interval its agent was last told, so that silence is judged against what the agent was asked to do,
not what a setting says now (failover turned on a moment ago must not make a 60 s agent look silent).
"""

from __future__ import annotations

from dataclasses import dataclass

from dumont_core.instances.models import RENTING_STATES, Instance

SILENT_INTERVALS = 2
"""Heartbeats missed, in intervals, before an agent's silence is a signal."""


@dataclass(frozen=True)
class HeartbeatIntervals:
    regular: float
    """Seconds between heartbeats of an agent nobody listens to closely."""
    listened: float
    """Seconds between heartbeats while failover is on or a workflow waits on the agent."""

    def for_instance(self, instance: Instance | None) -> float:
        """The interval to tell the agent of `instance` in a heartbeat's answer."""
        if instance is not None and (instance.failover_enabled or instance.status in RENTING_STATES):
            return min(self.regular, self.listened)
        return self.regular


def told_interval(instance: Instance, default: float) -> float:
    """The interval the instance's agent was last told, or `default` before it was told any."""
    return instance.heartbeat_interval_seconds or default


def silence_limit(instance: Instance, default: float) -> float:
    """Seconds without a heartbeat after which the agent's silence is a signal."""
    return SILENT_INTERVALS * told_interval(instance, default)
