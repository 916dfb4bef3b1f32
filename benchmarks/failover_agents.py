"""The agent on each machine of the failover bench: the real agent's API client (its retries), snapshot
and restore code, over the local stack's machine network (a partition cuts it, a fraction of heartbeats
is lost), with the API's agent routes and S3's presigned URLs answered in process."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import boto3
import httpx

from dumont_agent.agent import DEFAULT_HEARTBEAT_SECONDS, Agent, AgentConfig, AgentError, ApiClient
from dumont_agent.host_metrics import HostMetrics
from dumont_core.agents.models import ActionStatus
from dumont_core.platform.errors import DumontError, Unauthenticated
from dumont_core.platform.identity import Principal
from dumont_core.snapshots.models import ChunkPlan
from local_stack.machine_agents import HEARTBEAT_PATH, MachineNetwork, SimulatedGpu

if TYPE_CHECKING:
    from benchmarks.failover_workflows import AgentAction
    from benchmarks.failover_world import FailoverWorld

_UPLOADS = re.compile(r"^/api/agent/snapshots/(?P<id>[^/]+)/uploads$")
_DOWNLOADS = re.compile(r"^/api/agent/snapshots/(?P<id>[^/]+)/downloads$")


class _NoWaiting:
    """What the agent's client waits on between retries: here the retry goes out at once (the seconds
    it would wait are far shorter than a heartbeat interval)."""

    def wait(self, timeout: float | None = None) -> bool:
        return False

    def is_set(self) -> bool:
        return False


class AgentLink(httpx.BaseTransport):
    """The agent's requests, through its machine's network, to the services and to S3."""

    def __init__(
        self,
        world: FailoverWorld,
        network: MachineNetwork,
        agent: Principal,
        machine_id: str,
        token: str | None = None,
    ) -> None:
        self._world = world
        self._network = network
        self._agent = agent
        self._machine_id = machine_id
        self._token = token
        """The agent's own token, which the API authenticates (a CPU standby's, from its user data);
        without one, the principal is the machine's instance's, told apart as a standby by machine."""
        self.standby = False
        """Whether the machine was the instance's standby at the last heartbeat (its token the
        standby's, as `AgentService.authenticate` tells them apart)."""

    def principal(self) -> Principal:
        if self._token is not None:
            authenticated = self._world.agent_service.authenticate(self._token)
            if authenticated is None:
                raise Unauthenticated("This agent's token is no longer good")
            return authenticated
        assert self._agent.instance_id is not None
        instance = self._world.instances.find(self._agent.team_id, self._agent.instance_id)
        standby = (
            instance is not None
            and instance.standby is not None
            and instance.standby.machine_id == self._machine_id
            and instance.provider_instance_id != self._machine_id
        )
        return self._agent.model_copy(update={"standby": standby})

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._network.let_through(request)
        if request.url.host.endswith("amazonaws.com"):
            return _s3(request)
        try:
            return httpx.Response(200, json=self._api(request))
        except DumontError as error:
            return httpx.Response(error.http_status, json={"error": {"message": str(error)}})

    def _api(self, request: httpx.Request) -> Any:
        path, agent, world = request.url.path, self.principal(), self._world
        body = json.loads(request.content) if request.content else {}
        if path == HEARTBEAT_PATH:
            self.standby = agent.standby
            if self._token is not None:
                return world.agent_service.heartbeat(agent, body).model_dump(mode="json")
            # As the heartbeat route answers (`AgentService.heartbeat`), but for the action queue: a GPU
            # machine's actions all come from the bench's workflows, and a query a heartbeat would slow
            # the long runs down. The interval for the instance, and a standby's heartbeats are not the
            # instance's unless it runs on that standby.
            assert agent.instance_id is not None
            instance = world.instances.find(agent.team_id, agent.instance_id)
            interval = world.agent_service.intervals.for_instance(instance)
            if not agent.standby or (instance is not None and instance.on_standby):
                world.instances.record_heartbeat(agent.team_id, agent.instance_id, body, interval)
            return {"next_heartbeat_in_seconds": round(interval), "actions": []}
        uploads, downloads = _UPLOADS.match(path), _DOWNLOADS.match(path)
        if uploads is not None:
            chunks = [ChunkPlan.model_validate(chunk) for chunk in body["chunks"]]
            return world.snapshots.plan_uploads(agent, uploads["id"], chunks).model_dump(mode="json")
        if downloads is not None:
            return world.snapshots.plan_downloads(agent, downloads["id"]).model_dump(mode="json")
        return {}  # logs and reports: the bench's workflows learn of results directly


def _s3(request: httpx.Request) -> httpx.Response:
    """A presigned URL, answered by moto's S3 (path or virtual-host style)."""
    url = urlsplit(str(request.url))
    host_bucket = url.netloc.split(".s3", 1)[0] if ".s3" in url.netloc else ""
    path = unquote(url.path).lstrip("/")
    bucket, key = (host_bucket, path) if host_bucket else tuple(path.split("/", 1))
    s3 = boto3.client("s3")
    if request.method == "PUT":
        s3.put_object(Bucket=bucket, Key=key, Body=request.content)
        return httpx.Response(200)
    try:
        return httpx.Response(200, content=s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return httpx.Response(404)


class MachineAgent:
    """The agent of one machine: it beats every interval while its machine runs and its network lets it,
    and carries out the actions queued for its instance when a heartbeat is answered."""

    def __init__(
        self,
        world: FailoverWorld,
        machine_id: int | str,
        team_id: str,
        instance_id: str,
        disk: Path,
        *,
        token: str | None = None,
        nvml: Any = None,
    ) -> None:
        self.world = world
        self.machine_id = machine_id
        self.instance_id = instance_id
        self.workspace = disk / "workspace"
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.network = MachineNetwork(world.heartbeat_drops)
        self.running = True
        self.heard = False
        """Whether a heartbeat of this agent was received."""
        self.closed = False
        self.heartbeats_lost = 0
        self.interval = float(DEFAULT_HEARTBEAT_SECONDS)
        """Seconds between heartbeats, as the last heartbeat's answer told the agent."""
        config = AgentConfig.from_environment(
            {
                "DUMONT_API_URL": "http://api.bench.invalid",
                "DUMONT_AGENT_TOKEN": token or "bench",
                "DUMONT_WORKSPACE": str(self.workspace),
                "DUMONT_AGENT_STATE": str(disk / "agent-state"),
                "DUMONT_UPLOAD_WORKERS": "2",
            }
        )
        principal = Principal(account_id="acct_bench", team_id=team_id, instance_id=instance_id)
        stop: Any = _NoWaiting()
        self._link = AgentLink(world, self.network, principal, str(machine_id), token)
        self._client = ApiClient(config, self._link, stop)
        self._metrics = HostMetrics(self.workspace, nvml=nvml or SimulatedGpu("RTX 4090", 50.0))
        self._agent = Agent(config=config, client=self._client, metrics=self._metrics, stop=stop)

    def beat(self) -> float | None:
        """One heartbeat: the seconds until the next, as the last answer said (None once the machine is
        gone, to stop beating)."""
        if self.closed:
            return None
        if not self.running:
            return self.interval
        try:
            if self.world.heartbeats_skipped.strikes():
                raise AgentError("the agent stalled and sent no heartbeat")
            answer = self._client.heartbeat(self._metrics.read().as_heartbeat())
        except AgentError:
            self.heartbeats_lost += 1
            self.world.heartbeats_lost += 1
            return self.interval
        self.heard = True
        self.interval = float(answer.get("next_heartbeat_in_seconds") or self.interval)
        for action in self.world.workflows.take_actions(self.instance_id, standby=self._link.standby):
            self._carry_out(action)
        for asked in answer.get("actions") or []:
            self._carry_out_queued(asked)
        return self.interval

    def _run(self, kind: str, params: dict[str, Any]) -> tuple[Any, Exception | None, float]:
        """Carry out a snapshot or a restore now: its result, its error, and the seconds it took."""
        handler = self._agent.take_snapshot if kind == "snapshot" else self._agent.restore_snapshot
        started = time.perf_counter()
        try:
            result, error = handler(params), None
        except Exception as failure:
            result, error = None, failure
        return result, error, time.perf_counter() - started

    def _carry_out(self, action: AgentAction) -> None:
        """Run the action now; its result reaches the workflow once the time it took has passed."""
        result, error, took = self._run(action.kind, action.params)
        action.seconds = took
        self.world.timeline.at(took, lambda: action.done.resolve(result, error))

    def _carry_out_queued(self, asked: dict[str, Any]) -> None:
        """An action of the action queue (a CPU standby's sync, queued by housekeeping): reported running,
        then how it went once the time it took has passed, as the agent reports it."""
        agents, principal, action_id = self.world.agent_service, self._link.principal(), str(asked["id"])
        agents.report(principal, action_id, "running", None, None)
        result, error, took = self._run(str(asked["type"]), asked)
        status: ActionStatus = "completed" if error is None else "failed"
        reason = None if error is None else str(error) or type(error).__name__
        self.world.timeline.at(took, lambda: agents.report(principal, action_id, status, result, reason))

    def close(self) -> None:
        self.closed = True
        self._client.close()
