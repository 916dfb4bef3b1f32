"""The agents on our machines: their health, what they are asked to do, and the log lines they ship."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from dumont_core.platform.models import DomainModel

ACTION_FAILED_ERROR = "AgentActionFailed"
"""The error a workflow waiting for a failed action sees (an ASL error name)."""

ActionStatus = Literal["pending", "running", "completed", "failed"]
Health = Literal["healthy", "late", "lost", "unknown"]


class AgentHealth(DomainModel):
    instance_id: str
    status: str
    last_heartbeat: datetime | None
    health: Health
    """healthy: reported within 3 heartbeat intervals; late: within 10; lost: longer ago;
    unknown: never reported."""
    gpu_utilization: float | None


class AgentAction(DomainModel):
    """Something an agent is asked to do (take a snapshot, restore one), and how it went."""

    action_id: str
    instance_id: str
    team_id: str
    action_type: str
    status: ActionStatus
    params: dict[str, Any]
    task_token: str | None = None
    """The Step Functions task that waits for this action's outcome."""
    to_standby: bool = False
    """For the agent on the instance's standby machine (failover), not the one on its machine."""
    result: dict[str, Any] | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime

    def as_asked(self) -> dict[str, Any]:
        """The action as a heartbeat answer hands it to the agent: `{id, type, ...params}`."""
        return {"id": self.action_id, "type": self.action_type, **self.params}


class HeartbeatAnswer(DomainModel):
    next_heartbeat_in_seconds: int
    actions: list[dict[str, Any]]
    ssh_keys: list[str] | None = None
    """Every key that may log in, as `authorized_keys` lines, for an agent that asked (it just started) or
    holds an older list (it was stopped, or a standby, when the keys changed)."""
    ssh_keys_version: int | None = None


class LogLine(DomainModel):
    timestamp: datetime
    message: str
