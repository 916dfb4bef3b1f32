"""What the agents on our machines do through the API: report in, pick up actions, report results.

Actions come from workflows. A workflow step queues one with its Step Functions task token; the
agent finds it in a heartbeat answer, carries it out and reports the result, which completes the
task, so the workflow waits without polling.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from dumont_core.agents.logs import InstanceLogs, LogLine
from dumont_core.agents.tokens import parse_agent_token, token_matches
from dumont_core.aws_clients import aws_client
from dumont_core.data.agents import METRIC_FIELDS, ActionItem, AgentNotAccepted, AgentRepository, MetricPoint
from dumont_core.data.instances import InstanceRepository
from dumont_core.errors import Conflict, NotFound, Unauthenticated
from dumont_core.models import AGENT_STATES, Principal, utc_now
from dumont_core.services.instances import team_instance

AGENT_ROLE = "agent"
AGENT_PERMISSION = "agent.report"
ACTION_FAILED_ERROR = "AgentActionFailed"

ActionStatus = Literal["pending", "running", "completed", "failed"]


def action_not_found(action_id: str) -> NotFound:
    return NotFound("ACTION_NOT_FOUND", f"No action {action_id} for this instance", action_id=action_id)


@dataclass(frozen=True)
class AgentHealth:
    instance_id: str
    status: str
    last_heartbeat: datetime | None
    health: Literal["healthy", "late", "lost", "unknown"]
    """healthy: reported within 3 heartbeat intervals; late: within 10; lost: longer ago;
    unknown: never reported."""
    gpu_utilization: float | None


@dataclass(frozen=True)
class Period:
    span: timedelta
    bucket: timedelta
    hourly: bool
    """Read from hourly rollups rather than from every sample."""


PERIODS: dict[str, Period] = {
    "1h": Period(timedelta(hours=1), timedelta(minutes=1), hourly=False),
    "24h": Period(timedelta(hours=24), timedelta(minutes=15), hourly=False),
    "7d": Period(timedelta(days=7), timedelta(hours=1), hourly=True),
    "30d": Period(timedelta(days=30), timedelta(hours=6), hourly=True),
}


def downsample(points: list[MetricPoint], bucket: timedelta) -> list[MetricPoint]:
    """Averages per bucket (weighted by the samples each point stands for); empty buckets are left out."""
    seconds = bucket.total_seconds()
    grouped: dict[float, list[MetricPoint]] = {}
    for point in points:
        start = point.timestamp.timestamp() // seconds * seconds
        grouped.setdefault(start, []).append(point)
    result = []
    for start, members in sorted(grouped.items()):
        values: dict[str, float | None] = {}
        for field in METRIC_FIELDS:
            weighted: list[tuple[float, int]] = []
            for point in members:
                value = point.values.get(field)
                if value is not None:
                    weighted.append((float(value), point.samples))
            total = sum(weight for _, weight in weighted)
            values[field] = (
                round(sum(value * weight for value, weight in weighted) / total, 2) if total else None
            )
        result.append(
            MetricPoint(
                datetime.fromtimestamp(start, tz=members[0].timestamp.tzinfo),
                values,
                sum(p.samples for p in members),
            )
        )
    return result


@dataclass(frozen=True)
class HeartbeatAnswer:
    next_heartbeat_in_seconds: int
    actions: list[dict[str, Any]]


def action_view(action: ActionItem) -> dict[str, Any]:
    return {"id": action.action_id, "type": action.action_type, **(action.params or {})}


class AgentService:
    def __init__(
        self,
        instances: InstanceRepository,
        agents: AgentRepository,
        heartbeat_seconds: int,
        logs: InstanceLogs,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._logs = logs
        self._instances = instances
        self._agents = agents
        self._heartbeat_seconds = heartbeat_seconds
        self._clock = clock

    def authenticate(self, token: str) -> Principal | None:
        """The agent principal a token stands for: scoped to its one instance, while that runs."""
        parts = parse_agent_token(token)
        if parts is None:
            return None
        instance = self._instances.get(parts.team_id, parts.instance_id)
        if instance is None or instance.status not in AGENT_STATES:
            return None
        if not token_matches(token, instance.agent_token_digest):
            return None
        return Principal(
            account_id=instance.account_id,
            team_id=instance.team_id,
            role=AGENT_ROLE,
            plan="",
            permissions=frozenset({AGENT_PERMISSION}),
            instance_id=instance.instance_id,
        )

    def heartbeat(self, agent: Principal, reading: Mapping[str, Any]) -> HeartbeatAnswer:
        instance_id = _instance_of(agent)
        try:
            self._agents.record_heartbeat(agent.team_id, instance_id, reading, self._clock())
        except AgentNotAccepted:
            raise Unauthenticated("This instance no longer runs an agent") from None
        actions = [action_view(action) for action in self._agents.pending_actions(instance_id)]
        return HeartbeatAnswer(next_heartbeat_in_seconds=self._heartbeat_seconds, actions=actions)

    def health(self, principal: Principal) -> list[AgentHealth]:
        """How the agents of the team's machines are doing, from the age of their last heartbeat."""
        now = self._clock()
        answers = []
        for instance in self._instances.list_for_team(principal.team_id):
            if instance.status not in AGENT_STATES:
                continue
            answers.append(
                AgentHealth(
                    instance_id=instance.instance_id,
                    status=instance.status.value,
                    last_heartbeat=instance.last_heartbeat_at,
                    health=self._health(instance.last_heartbeat_at, now),
                    gpu_utilization=instance.latest_reading("gpu_utilization"),
                )
            )
        return answers

    def _health(
        self, last_heartbeat: datetime | None, now: datetime
    ) -> Literal["healthy", "late", "lost", "unknown"]:
        if last_heartbeat is None:
            return "unknown"
        intervals = (now - last_heartbeat).total_seconds() / self._heartbeat_seconds
        if intervals <= 3:
            return "healthy"
        return "late" if intervals <= 10 else "lost"

    def metrics(self, principal: Principal, instance_id: str, period: str) -> list[MetricPoint]:
        """The instance's readings over `period`, downsampled to at most a few hundred points."""
        team_instance(self._instances, principal, instance_id)
        chosen = PERIODS[period]
        until = self._clock()
        since = until - chosen.span
        if chosen.hourly:
            points = self._agents.hourly(instance_id, since, until)
        else:
            points = self._agents.samples(instance_id, since, until)
        return downsample(points, chosen.bucket)

    def ship_logs(self, agent: Principal, lines: list[LogLine]) -> int:
        """Keep the lines the agent read from its machine's logs."""
        return self._logs.append(_instance_of(agent), lines)

    def logs(
        self, principal: Principal, instance_id: str, lines: int, since: datetime | None
    ) -> list[LogLine]:
        team_instance(self._instances, principal, instance_id)
        return self._logs.tail(instance_id, lines, since)

    def queue_action(
        self, team_id: str, instance_id: str, action_type: str, params: dict[str, Any], task_token: str | None
    ) -> str:
        now = self._clock()
        # Time-ordered ids: a heartbeat answers actions in the order they were queued.
        action_id = f"act_{int(now.timestamp() * 1000):013x}{secrets.token_hex(4)}"
        self._agents.add_action(
            ActionItem(
                action_id=action_id,
                instance_id=instance_id,
                team_id=team_id,
                action_type=action_type,
                status="pending",
                params=params,
                task_token=task_token,
                created_at=now,
                updated_at=now,
            )
        )
        return action_id

    def report(
        self,
        agent: Principal,
        action_id: str,
        status: ActionStatus,
        result: dict[str, Any] | None,
        error: str | None,
    ) -> None:
        """Record how an action went; a finished one completes the workflow task that waits for it."""
        action = self._agents.action(_instance_of(agent), action_id)
        if action is None:
            raise action_not_found(action_id)
        now = self._clock()
        if status == "running":
            if not self._agents.move_action(
                action, expected=("pending", "running"), status="running", now=now
            ):
                raise Conflict(f"Action {action_id} has already finished", details={"action_id": action_id})
            return
        if status == "pending":
            raise Conflict("An action cannot go back to pending", details={"action_id": action_id})
        moved = self._agents.move_action(
            action, expected=("pending", "running"), status=status, now=now, result=result, error=error
        )
        if not moved:
            if action.status == status:
                return  # a retried report
            raise Conflict(f"Action {action_id} has already finished", details={"action_id": action_id})
        if action.task_token:
            complete_task(action.task_token, status, result, error)


def complete_task(task_token: str, status: str, result: dict[str, Any] | None, error: str | None) -> None:
    stepfunctions = aws_client("stepfunctions")
    try:
        if status == "completed":
            stepfunctions.send_task_success(taskToken=task_token, output=json.dumps(result or {}))
        else:
            stepfunctions.send_task_failure(
                taskToken=task_token,
                error=ACTION_FAILED_ERROR,
                cause=(error or "the agent gave no reason")[:32_000],
            )
    except (stepfunctions.exceptions.TaskTimedOut, stepfunctions.exceptions.InvalidToken):
        # The workflow gave up waiting (and took its failure path) before the agent answered.
        pass


def _instance_of(agent: Principal) -> str:
    if agent.instance_id is None:
        raise Unauthenticated("Only an instance's agent may call this")
    return agent.instance_id
