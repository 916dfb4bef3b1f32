"""What the agents on our machines do through the API: report in, pick up actions, report results,
ship their machine's logs.

Actions come from workflows. A workflow step queues one with its Step Functions task token; the
agent finds it in a heartbeat answer, carries it out and reports the result, which completes the
task, so the workflow waits without polling.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from dumont_core.access.permissions import AGENT_PERMISSION, AGENT_ROLE
from dumont_core.agents.logs import InstanceLogs
from dumont_core.agents.models import (
    ACTION_FAILED_ERROR,
    ActionStatus,
    AgentAction,
    AgentHealth,
    Health,
    HeartbeatAnswer,
    LogLine,
)
from dumont_core.agents.repository import ActionRepository
from dumont_core.instances.agent_tokens import parse_agent_token, token_matches
from dumont_core.instances.heartbeats import HeartbeatIntervals, told_interval
from dumont_core.instances.models import AGENT_STATES, Instance, InstanceStatus
from dumont_core.instances.service import InstanceService
from dumont_core.platform.aws import aws_client
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import Conflict, NotFound, Unauthenticated
from dumont_core.platform.identity import Principal

logger = Logger(child=True)

STANDBY_AGENT_STATES = frozenset({*AGENT_STATES, InstanceStatus.INTERRUPTED})
"""States in which a standby machine's agent may report: it is kept while the instance runs, and takes
over once the instance's machine is lost."""


def action_not_found(action_id: str) -> NotFound:
    return NotFound("ACTION_NOT_FOUND", f"No action {action_id} for this instance", action_id=action_id)


class HeartbeatListener(Protocol):
    """Whoever hears of each reading an instance's agent reports (live metrics push it to the
    instance's watchers). It must not raise: a heartbeat is answered whatever it does."""

    def heard(self, instance: Instance, reading: Mapping[str, Any]) -> Any:
        """`instance` as the heartbeat read it, before recording the reading."""
        ...


@dataclass(frozen=True, kw_only=True)
class AgentService:
    instances: InstanceService
    actions: ActionRepository
    logs: InstanceLogs
    heartbeat_seconds: int
    listener: HeartbeatListener | None = None
    listened_heartbeat_seconds: int | None = None
    """The interval of agents listened to closely (failover on, a workflow waiting on them): see
    `instances/heartbeats.py`. The regular interval when unset."""
    clock: Clock = utc_now

    @property
    def intervals(self) -> HeartbeatIntervals:
        listened = self.listened_heartbeat_seconds or self.heartbeat_seconds
        return HeartbeatIntervals(regular=self.heartbeat_seconds, listened=listened)

    def authenticate(self, token: str) -> Principal | None:
        """The agent principal a token stands for: scoped to its one instance, while that runs; or the
        agent of the instance's standby machine, while the instance keeps it."""
        parts = parse_agent_token(token)
        if parts is None:
            return None
        instance = self.instances.find(parts.team_id, parts.instance_id)
        if instance is None:
            return None
        if instance.status in AGENT_STATES and token_matches(token, instance.agent_token_digest):
            standby = False
        elif instance.status in STANDBY_AGENT_STATES and token_matches(token, _standby_digest(instance)):
            standby = True
        else:
            return None
        return Principal(
            account_id=instance.account_id,
            team_id=instance.team_id,
            role=AGENT_ROLE,
            plan="",
            permissions=frozenset({AGENT_PERMISSION}),
            instance_id=instance.instance_id,
            standby=standby,
        )

    def heartbeat(
        self,
        agent: Principal,
        reading: Mapping[str, Any],
        *,
        wants_ssh_keys: bool = False,
        keys_version_held: int | None = None,
    ) -> HeartbeatAnswer:
        instance_id = _instance_of(agent)
        # Read once: how often its agent is to beat, whether a standby's heartbeats are the instance's,
        # and the SSH keys an agent that just started installs.
        instance = self.instances.find(agent.team_id, instance_id)
        interval = self.intervals.for_instance(instance)
        if not agent.standby or (instance is not None and instance.on_standby):
            # While the instance runs on its standby, that machine's heartbeats are the instance's.
            self.instances.record_heartbeat(agent.team_id, instance_id, reading, interval)
            if instance is not None and instance.watchers:
                self._tell_listener(instance, reading)
        pending = self.actions.pending(instance_id, to_standby=agent.standby)
        actions = [action.as_asked() for action in pending]
        answer = HeartbeatAnswer(next_heartbeat_in_seconds=round(interval), actions=actions)
        # An agent just started on a new machine installs the instance's keys once; later changes reach
        # it as actions. One that missed a change (a standby stopped then, promoted since) is behind
        # the instance's version: it gets the list again, from the read made anyway.
        version = instance.ssh_keys_version if instance else 0
        behind = keys_version_held is not None and keys_version_held < version
        if wants_ssh_keys or behind:
            keys = [key.public_key for key in instance.ssh_keys] if instance else []
            answer = answer.model_copy(update={"ssh_keys": keys, "ssh_keys_version": version})
        return answer

    def _tell_listener(self, instance: Instance, reading: Mapping[str, Any]) -> None:
        if self.listener is None:
            return
        try:
            self.listener.heard(instance, reading)
        except Exception:
            # The reading is recorded: the heartbeat is answered whatever its listener does.
            logger.exception("The heartbeat's listener failed", extra={"instance_id": instance.instance_id})

    def health(self, principal: Principal) -> list[AgentHealth]:
        """How the agents of the team's machines are doing, from the age of their last heartbeat."""
        now = self.clock()
        return [
            AgentHealth(
                instance_id=instance.instance_id,
                status=instance.status.value,
                last_heartbeat=instance.last_heartbeat_at,
                health=self._health(instance, now),
                gpu_utilization=instance.latest_reading("gpu_utilization"),
            )
            for instance in self.instances.list_all(principal)
            if instance.status in AGENT_STATES
        ]

    def _health(self, instance: Instance, now: datetime) -> Health:
        last_heartbeat = instance.last_heartbeat_at
        if last_heartbeat is None:
            return "unknown"
        intervals = (now - last_heartbeat).total_seconds() / told_interval(instance, self.heartbeat_seconds)
        if intervals <= 3:
            return "healthy"
        return "late" if intervals <= 10 else "lost"

    def ship_logs(self, agent: Principal, lines: list[LogLine]) -> int:
        """Keep the lines the agent read from its machine's logs."""
        return self.logs.append(_instance_of(agent), lines)

    def read_logs(
        self, principal: Principal, instance_id: str, lines: int, since: datetime | None
    ) -> list[LogLine]:
        self.instances.get(principal, instance_id)
        return self.logs.tail(instance_id, lines, since)

    def queue_action(
        self,
        team_id: str,
        instance_id: str,
        action_type: str,
        params: dict[str, Any],
        task_token: str | None,
        *,
        to_standby: bool = False,
    ) -> str:
        """Ask the agent of the instance's machine (or, `to_standby`, of its standby machine) to carry
        out an action; a workflow waiting on `task_token` hears how it went."""
        now = self.clock()
        # Time-ordered ids: a heartbeat answers actions in the order they were queued.
        action_id = f"act_{int(now.timestamp() * 1000):013x}{secrets.token_hex(4)}"
        self.actions.add(
            AgentAction(
                action_id=action_id,
                instance_id=instance_id,
                team_id=team_id,
                action_type=action_type,
                status="pending",
                params=params,
                task_token=task_token,
                to_standby=to_standby,
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
        action = self.actions.get(_instance_of(agent), action_id, to_standby=agent.standby)
        if action is None:
            raise action_not_found(action_id)
        now = self.clock()
        if status == "running":
            if not self.actions.move(action, expected=("pending", "running"), status="running", now=now):
                raise Conflict(f"Action {action_id} has already finished", details={"action_id": action_id})
            return
        if status == "pending":
            raise Conflict("An action cannot go back to pending", details={"action_id": action_id})
        moved = self.actions.move(
            action, expected=("pending", "running"), status=status, now=now, result=result, error=error
        )
        if not moved:
            if action.status == status:
                return  # a retried report
            raise Conflict(f"Action {action_id} has already finished", details={"action_id": action_id})
        if action.task_token:
            complete_task(action.task_token, status, result, error)

    def action(self, instance_id: str, action_id: str, *, to_standby: bool = False) -> AgentAction | None:
        """An action queued for the instance's agent (or its standby's), as it stands."""
        return self.actions.get(instance_id, action_id, to_standby=to_standby)


def _standby_digest(instance: Instance) -> str | None:
    return instance.standby.agent_token_digest if instance.standby is not None else None


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
