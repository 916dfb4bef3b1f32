"""The system under failover, in one process on a simulated clock: the real instance and snapshot
services over DynamoDB and S3 (moto), the real Vast.ai adapter against the local marketplace over HTTP,
the reconciler's passes with the interruption watch, the steps of the workflows run in the order their
state machines run them (`failover_workflows`), the CPU standbys on moto's EC2 (`failover_cpu`), and on
every running machine the real agent's client, snapshot and restore code, whose requests go through the
local stack's machine network (partitions, lost heartbeats) to the services.

The timings are AWS's, read from the settings' defaults (a pass every WATCH_POLL_SECONDS, confirmation
after INTERRUPTION_CONFIRM_SECONDS, a heartbeat every AGENT_HEARTBEAT_SECONDS, or every
LISTENED_HEARTBEAT_SECONDS as each heartbeat's answer tells the agent, boots polled every
BOOT_POLL_SECONDS); the marketplace's machines boot in `Timings.boot_seconds`, a stopped EC2 machine
starts in `Timings.cpu_boot_seconds`.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from moto import mock_aws

from benchmarks.failover_agents import MachineAgent
from benchmarks.failover_cpu import CpuStandbys
from benchmarks.failover_timeline import SimulatedTime, Timeline
from benchmarks.failover_workflows import WorkflowRunner
from dumont_core.agents.logs import InstanceLogs
from dumont_core.agents.repository import ActionRepository
from dumont_core.agents.service import AgentService
from dumont_core.failover.paths import FailoverRecovery, SnapshotPath
from dumont_core.failover.service import FailoverService
from dumont_core.failover.warmpool import WarmPoolPath
from dumont_core.failover.warmpool_steps import WarmPoolSteps
from dumont_core.instances.interruptions import InterruptionWatch
from dumont_core.instances.machine_labels import owner_of
from dumont_core.instances.metrics import MetricsRepository
from dumont_core.instances.models import FailoverStrategy, Instance, InstanceSpec, InstanceStatus
from dumont_core.instances.reconciler import MachineReconciler
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.service import InstanceService
from dumont_core.instances.steps import InstanceWorkflowSteps
from dumont_core.platform import table
from dumont_core.platform.dynamodb import bind_table
from dumont_core.platform.events import DomainEvent
from dumont_core.platform.identity import Principal
from dumont_core.platform.settings import AgentSettings, ProviderSettings, WatchSettings, WorkflowSettings
from dumont_core.providers.models import ProviderError
from dumont_core.providers.vastai import VastAiProvider
from dumont_core.snapshots.repository import SnapshotRepository
from dumont_core.snapshots.service import SnapshotService
from dumont_core.snapshots.steps import SnapshotSteps
from dumont_core.snapshots.store import SnapshotStore
from local_stack.faults import RandomFault
from local_stack.marketplace import LocalMarketplace
from local_stack.moto_memory import keep_memory_flat

TABLE_NAME = "DumontBench-Failover"
BUCKET = "dumont-bench-failover"
PRINCIPAL = Principal(account_id="acct_bench", team_id="team_00000000000be0c4")
"""Hex ids, as the services make them: agent tokens carry the team's."""
AGENT_API_URL = "http://api.bench.invalid"
MACHINE_WATCH_SECONDS = 1.0
"""How often the machines are looked at to start and stop their agents (an agent starts as its machine
comes up)."""
HOUSEKEEPING_SECONDS = 60.0
"""How often housekeeping has each strategy keep its standby ready (its schedule fires once a minute)."""
RUNS_PATHS = frozenset({FailoverStrategy.WARMPOOL, FailoverStrategy.CPU_STANDBY})
"""The strategies whose own paths the bench runs: the others come back through the snapshot's."""


def _default(model: type[Any], name: str) -> Any:
    return model.model_fields[name].default


@dataclass(frozen=True)
class Timings:
    pass_seconds: float
    confirm_seconds: float
    silence_confirm_seconds: float
    heartbeat_seconds: float
    listened_heartbeat_seconds: float
    boot_poll_seconds: float
    provider_backoff_seconds: float
    boot_seconds: tuple[float, float] = (20.0, 60.0)
    """How long a rented GPU machine takes to come up (image pulled): a Vast.ai-like range."""
    cpu_boot_seconds: tuple[float, float] = (15.0, 40.0)
    """How long a stopped EC2 machine takes to start and run its agent (decision 45)."""

    @classmethod
    def aws(cls) -> Timings:
        return cls(
            pass_seconds=_default(WatchSettings, "watch_poll_seconds"),
            confirm_seconds=_default(WatchSettings, "interruption_confirm_seconds"),
            silence_confirm_seconds=_default(WatchSettings, "silence_confirm_seconds"),
            heartbeat_seconds=_default(AgentSettings, "agent_heartbeat_seconds"),
            listened_heartbeat_seconds=_default(AgentSettings, "listened_heartbeat_seconds"),
            boot_poll_seconds=_default(WorkflowSettings, "boot_poll_seconds"),
            provider_backoff_seconds=_default(ProviderSettings, "provider_backoff_seconds"),
        )


@dataclass
class Events:
    """The domain events published, in order."""

    published: list[DomainEvent] = field(default_factory=list)

    def publish(self, events: Any) -> None:
        self.published.extend(events)


class FailoverWorld:
    """Everything a failover touches, on one simulated clock. Use as a context manager."""

    def __init__(self, *, seed: int, timings: Timings | None = None) -> None:
        self.timings = timings or Timings.aws()
        self.time = SimulatedTime()
        self.timeline = Timeline(self.time)
        self.seed = seed
        self.heartbeat_drops = RandomFault(0.0, seed)
        """Heartbeat requests the machines' network loses (the agent sends a lost one again)."""
        self.heartbeats_skipped = RandomFault(0.0, seed)
        """Heartbeats an agent never sends at all, as when it stalls."""
        self.events = Events()
        self.interrupted_at: dict[str, list[float]] = {}
        """Instance id -> the simulated times the watch interrupted it."""
        self.failed_passes = 0
        """Reconciler passes the provider could not answer (they are tried again at the next)."""
        self.heartbeats_lost = 0
        """Heartbeats of every agent, past and present, that never reached the API."""
        self.agents: dict[int, MachineAgent] = {}
        self.root = Path(tempfile.mkdtemp(prefix="dumont-bench-failover-"))
        self._mock = mock_aws()
        self.marketplace = LocalMarketplace(
            seed=seed,
            boot_seconds=self.timings.boot_seconds,
            action_seconds=(5.0, 15.0),
            clock=self.time.seconds,
        )

    # --- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> FailoverWorld:
        keep_memory_flat()  # what the local stack runs moto with: a transaction copies items, not tables
        self._mock.start()
        boto3.client("dynamodb").create_table(**table.create_table_request(TABLE_NAME))
        bind_table(TABLE_NAME)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        self.marketplace.start()
        self._compose()
        self.timeline.every(self.timings.pass_seconds, self._reconcile, first_in=self.timings.pass_seconds)
        self.timeline.every(MACHINE_WATCH_SECONDS, self._watch_machines)
        self.timeline.every(MACHINE_WATCH_SECONDS, self.cpu.watch)
        self.timeline.every(HOUSEKEEPING_SECONDS, self._housekeep, first_in=HOUSEKEEPING_SECONDS)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for agent in self.agents.values():
            agent.close()
        self.cpu.close()
        self.provider.close()
        self.marketplace.stop()
        self._mock.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _compose(self) -> None:
        timings, clock = self.timings, self.time
        self.workflows = WorkflowRunner(self)
        self.instances = InstanceService(
            repository=InstanceRepository(event_retention=timedelta(days=90)),
            readings=MetricsRepository(retention=timedelta(days=1)),
            publisher=self.events,
            workflows=self.workflows,
            clock=clock,
        )
        self.settings = ProviderSettings(
            vast_api_url=self.marketplace.url, public_api_url=AGENT_API_URL, provider_timeout_seconds=5
        )
        self.provider = VastAiProvider(
            self.marketplace.url,
            self.marketplace.api_key,
            timeout_seconds=5,
            backoff_seconds=timings.provider_backoff_seconds,
            sleep=clock.sleep,
        )
        self.steps = InstanceWorkflowSteps(
            instances=self.instances, provider=self.provider, settings=self.settings, clock=clock
        )
        snapshots, store = SnapshotRepository(), SnapshotStore(BUCKET)
        self.snapshots = SnapshotService(
            instances=self.instances, snapshots=snapshots, store=store, workflows=self.workflows, clock=clock
        )
        self.snapshot_steps = SnapshotSteps(
            instances=self.instances, snapshots=snapshots, store=store, clock=clock
        )
        self.warmpool_steps = WarmPoolSteps(
            instances=self.instances, provider=self.provider, settings=self.settings, clock=clock
        )
        # The agent routes' service: heartbeats and the action queue (a CPU standby's syncs use it).
        self.agent_service = AgentService(
            instances=self.instances,
            actions=ActionRepository(retention=timedelta(days=7)),
            logs=InstanceLogs("/dumont/instances"),
            heartbeat_seconds=round(timings.heartbeat_seconds),
            listened_heartbeat_seconds=round(timings.listened_heartbeat_seconds),
            clock=clock,
        )
        self.cpu = CpuStandbys(self)
        # The paths whose workflows the bench runs (`failover_workflows`); a strategy without one here
        # comes back through the snapshot's.
        recovery = FailoverRecovery(
            instances=self.instances,
            fallback=SnapshotPath(snapshots=self.snapshots),
            paths={
                FailoverStrategy.WARMPOOL: WarmPoolPath(
                    instances=self.instances, workflows=self.workflows, clock=clock
                ),
                FailoverStrategy.CPU_STANDBY: self.cpu.path,
            },
        )
        self.recovery = recovery
        self.failover = FailoverService(instances=self.instances, recovery=recovery, clock=clock)
        watch = InterruptionWatch(
            instances=self.instances,
            provider=self.provider,
            heartbeat_seconds=timings.heartbeat_seconds,
            confirm_seconds=timings.confirm_seconds,
            silence_confirm_seconds=timings.silence_confirm_seconds,
            recovery=recovery,
            clock=clock,
        )
        self.reconciler = MachineReconciler(
            instances=self.instances, provider=self.provider, settings=self.settings, watch=watch, clock=clock
        )

    # --- what runs on the clock -------------------------------------------------------------------

    def _reconcile(self) -> None:
        try:
            report = self.reconciler.reconcile()
        except ProviderError:
            self.failed_passes += 1
            return
        for instance_id in report.interrupted:
            self.interrupted_at.setdefault(instance_id, []).append(self.time.elapsed)

    def _housekeep(self) -> None:
        self.recovery.keep_ready()
        self.cpu.path.sweep()

    def _watch_machines(self) -> None:
        """An agent starts on every machine of ours that comes up, and goes with its machine."""
        machines = {machine["id"]: machine for machine in self.marketplace.machines()}
        partitioned = self.marketplace.partitioned_machines()
        for machine_id in [machine_id for machine_id in self.agents if machine_id not in machines]:
            self.agents.pop(machine_id).close()
        for machine_id, machine in machines.items():
            agent = self.agents.get(machine_id)
            if agent is not None:
                agent.network.partitioned = machine_id in partitioned
                agent.running = machine["actual_status"] == "running"
                continue
            owner = owner_of(machine.get("label"), self.settings.machine_label_prefix)
            if owner is None or machine["actual_status"] != "running" or machine_id in partitioned:
                continue
            agent = MachineAgent(
                self, machine_id, owner.team_id, owner.instance_id, self.root / str(machine_id)
            )
            self.agents[machine_id] = agent
            self.timeline.repeat(agent.beat)

    # --- what the bench and the tests ask -------------------------------------------------------

    def machines_changed(self) -> None:
        """The machines' agents follow what just happened to their machines at once."""
        self._watch_machines()

    def create_instance(self, **spec: Any) -> Instance:
        values: dict[str, Any] = {"gpu_type": "RTX_4090", "image": "pytorch/pytorch:latest", "disk_gb": 50}
        return self.instances.create(PRINCIPAL, InstanceSpec(**{**values, **spec}))

    def instance(self, instance_id: str) -> Instance:
        return self.instances.get(PRINCIPAL, instance_id)

    def agent_of(self, instance: Instance) -> MachineAgent | None:
        """The agent of the machine the instance runs on: its GPU's, or its CPU standby's while there."""
        standby = instance.standby
        if instance.on_standby and standby is not None and standby.kind == "cpu":
            return self.cpu.agents.get(str(standby.machine_id))
        machine_id = instance.provider_instance_id
        return self.agents.get(int(machine_id)) if machine_id is not None else None

    def running_with_agent(self, instance_id: str) -> bool:
        instance = self.instance(instance_id)
        agent = self.agent_of(instance)
        return instance.status == InstanceStatus.RUNNING and agent is not None and agent.heard

    def machines_rented(self) -> set[str]:
        """The marketplace's machines and the EC2 machines not terminated."""
        return {str(machine["id"]) for machine in self.marketplace.machines()} | self.cpu.kept()

    def machines_held(self) -> set[str]:
        """The machines instances hold: their own, and the standbys they keep."""
        held = set()
        for instance in self.instances.list_all(PRINCIPAL):
            if instance.status == InstanceStatus.DELETED:
                continue
            if instance.provider_instance_id is not None:
                held.add(instance.provider_instance_id)
            if instance.standby is not None and instance.standby.machine_id is not None:
                held.add(instance.standby.machine_id)
        return held

    def can_be_outbid(self, instance_id: str) -> bool:
        """Whether the instance's GPU machine is an interruptible bid: one a warm standby took over is
        rented on demand, which no bid can take."""
        machine_id = self.instance(instance_id).provider_instance_id
        machine = next((m for m in self.marketplace.machines() if str(m["id"]) == machine_id), None)
        return machine is None or bool(machine["is_bid"])

    def standby_ready(self, instance_id: str) -> bool:
        standby = self.instance(instance_id).standby
        return standby is not None and standby.state == "ready"
