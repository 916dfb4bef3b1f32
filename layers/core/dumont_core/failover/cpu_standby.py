"""The `cpu_standby` strategy: a CPU machine (EC2) kept stopped and in sync with the checkpoints, which
takes the instance over within a minute when its GPU dies, while a new GPU is rented.

While the instance runs, housekeeping keeps the standby: launched once (its first boot installs the
instance's SSH key and starts our agent with a token of its own), started to restore each newer
checkpoint through that agent, and stopped again once it holds it: stopped, it costs its disk alone.
When the GPU dies, `recover` hands the instance to the `cpu_failover` workflow (`steps` of this
package): the standby starts, catches up with the last checkpoint, and the instance's address becomes
its own; a GPU is rented meanwhile, the standby's workspace snapshotted and restored onto it, and the
instance switches back, the standby stopped. Whatever goes wrong ends in the snapshot path.

A pass over the deployment's EC2 machines (by tag) terminates any whose instance is gone or no longer
keeps it.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from dumont_core.agents.service import AgentService
from dumont_core.instances.agent_tokens import agent_token_digest, new_agent_token
from dumont_core.instances.machine_labels import machine_label, owner_of
from dumont_core.instances.models import (
    HEARTBEAT_RESET,
    EventType,
    FailoverStrategy,
    Instance,
    InstanceEvent,
    InstanceStatus,
    InterruptionReason,
    StaleInstanceState,
    Standby,
)
from dumont_core.instances.provisioning_steps import authorized_keys_command
from dumont_core.instances.service import InstanceService
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.settings import ProviderSettings
from dumont_core.platform.workflows import Workflow, WorkflowStarter, workflow_payload
from dumont_core.providers.cpu_machines import (
    ALIVE_STATES,
    CpuMachine,
    CpuMachineError,
    CpuMachineRequest,
    CpuMachines,
    CpuMachineState,
)

logger = Logger(child=True)

STRATEGY = FailoverStrategy.CPU_STANDBY.value
STANDBY_SSH_PORT = 22
STANDBY_WORKSPACE = "/workspace"
UNRECORDED_GRACE = timedelta(minutes=2)
"""A machine launched this recently may not be recorded on its instance yet: the pass leaves it."""
_AGENT_ENVIRONMENT_FILE = "/etc/dumont-agent.env"


def standby_user_data(instance: Instance, agent_token: str, settings: ProviderSettings) -> str:
    """The standby's first boot: the instance's SSH keys for root, in the block its agent manages (as on
    the GPU, so a key removed later is taken out), and our agent as a service that comes back with every
    start, reporting with the standby's own token."""
    lines = ["#!/bin/bash", "set -eu"]
    keys_command = authorized_keys_command(instance, home="/root")
    if keys_command:
        lines.append(keys_command)
    lines += [
        f"mkdir -p {STANDBY_WORKSPACE}",
        f"python3 -m pip install --quiet --break-system-packages '{settings.agent_package}'",
        f"cat > {_AGENT_ENVIRONMENT_FILE} <<'EOF'",
        f"DUMONT_API_URL={settings.public_api_url or ''}",
        f"DUMONT_AGENT_TOKEN={agent_token}",
        f"DUMONT_INSTANCE_ID={instance.instance_id}",
        f"DUMONT_WORKSPACE={STANDBY_WORKSPACE}",
        "EOF",
        "cat > /etc/systemd/system/dumont-agent.service <<'EOF'",
        "[Unit]",
        "After=network-online.target",
        "[Service]",
        f"EnvironmentFile={_AGENT_ENVIRONMENT_FILE}",
        "ExecStart=/usr/bin/env dumont-agent",
        "Restart=always",
        "[Install]",
        "WantedBy=multi-user.target",
        "EOF",
        "systemctl daemon-reload && systemctl enable --now dumont-agent",
    ]
    return "\n".join(lines) + "\n"


def standby_agent_environment(user_data: str) -> dict[str, str] | None:
    """The variables a standby's first boot starts its agent with; None when it starts none."""
    marker = f"cat > {_AGENT_ENVIRONMENT_FILE} <<'EOF'"
    if marker not in user_data:
        return None
    block = user_data.split(marker, 1)[1].split("\nEOF", 1)[0]
    environment = {}
    for line in block.strip().splitlines():
        name, _, value = line.partition("=")
        if value:
            environment[name] = value
    return environment


@dataclass(frozen=True, kw_only=True)
class CpuStandbyPath:
    instances: InstanceService
    agents: AgentService
    machines: CpuMachines
    workflows: WorkflowStarter
    settings: ProviderSettings
    region: str | None = None
    clock: Clock = field(default=utc_now)

    # The failover path ----------------------------------------------------------------------------

    def recover(self, instance: Instance) -> Instance | None:
        """Hand the interrupted instance to its standby (the `cpu_failover` workflow); None when there
        is no standby alive to take over, or nothing to bring onto it."""
        standby = instance.standby
        if standby is None or standby.kind != "cpu" or standby.machine_id is None:
            return None
        if instance.last_snapshot_id is None:
            return None
        machine = self._look_up(standby.machine_id)
        if machine is None or machine.state == CpuMachineState.GONE:
            logger.warning("The CPU standby is gone too", extra={"instance_id": instance.instance_id})
            with contextlib.suppress(StaleInstanceState):
                self.instances.configure(instance, {"standby": None})
            return None
        # The workflow rents a GPU: unless a drill gave one up on purpose, the team must pay an hour of it.
        if not (instance.status_reason or "").startswith(f"interrupted ({InterruptionReason.DRILL.value})"):
            action = f"fail over instance {instance.instance_id}"
            self.instances.ensure_affordable(instance, action, new_machine=True)
        started = InstanceEvent.of(
            EventType.FAILOVER_STARTED,
            instance,
            strategy=STRATEGY,
            snapshot_id=instance.last_snapshot_id,
            standby_machine_id=standby.machine_id,
        )
        try:
            taking_over = self.instances.transition(
                instance,
                expected=[InstanceStatus.INTERRUPTED],
                changes={
                    "status": InstanceStatus.WAKING,
                    "status_reason": "its CPU standby takes over while a GPU is rented",
                    "provider_instance_id": None,
                    "failing_over_since": self.clock(),
                    "standby": standby.model_copy(update={"state": "taking_over"}),
                    **HEARTBEAT_RESET,
                },
                events=[started],
            )
        except StaleInstanceState:
            return None
        execution = f"{instance.instance_id}-cpu-failover-{secrets.token_hex(4)}"
        try:
            self.workflows.start(
                Workflow.CPU_FAILOVER, execution, workflow_payload(instance.team_id, instance.instance_id)
            )
        except Exception:
            logger.exception("Could not start the CPU failover", extra={"instance_id": instance.instance_id})
            failed = InstanceEvent.of(
                EventType.FAILOVER_FAILED, instance, strategy=STRATEGY, reason="the workflow could not start"
            )
            with contextlib.suppress(StaleInstanceState):
                self._give_back(taking_over, standby, failed)
            return None
        return taking_over

    def prepare(self, instance: Instance) -> None:
        """Start the stopped standby as soon as the GPU looks dead: a stopped EC2 machine takes 15 to 40 s
        to start, and the death takes 20 to 30 s to confirm, so it is up about when the takeover needs
        it. Should the GPU live after all, the next housekeeping run stops it again: a false alarm costs
        a minute of the CPU machine (EC2 bills a start for at least that)."""
        standby = instance.standby
        if standby is None or standby.kind != "cpu" or standby.state != "ready" or standby.machine_id is None:
            return
        try:
            machine = self.machines.get(standby.machine_id)
            if machine.state != CpuMachineState.STOPPED:
                return
            self.machines.start(machine.machine_id)
        except CpuMachineError as error:
            logger.warning("Could not start the CPU standby early", extra={"why": error.message})
            return
        logger.info("CPU standby started early", extra={"instance_id": instance.instance_id})
        with contextlib.suppress(StaleInstanceState):  # interrupted meanwhile: the takeover records it
            self._record(instance, standby.model_copy(update={"cost_per_hour": self.machines.cost_per_hour}))

    def _give_back(self, taking_over: Instance, standby: Standby, failed: InstanceEvent) -> None:
        self.instances.transition(
            taking_over,
            expected=[InstanceStatus.WAKING],
            changes={"status": InstanceStatus.INTERRUPTED, "failing_over_since": None, "standby": standby},
            events=[failed],
        )

    def keep_ready(self, instance: Instance) -> None:
        """Launch the standby, restore each newer checkpoint onto it, and keep it stopped meanwhile."""
        standby = instance.standby
        try:
            if standby is None or standby.kind != "cpu" or standby.machine_id is None:
                action = f"keep a CPU standby for instance {instance.instance_id}"
                self.instances.ensure_affordable(instance, action)
                self._launch(instance)
                return
            machine = self.machines.get(standby.machine_id)
            if machine.state == CpuMachineState.GONE:
                logger.warning("The CPU standby was lost", extra={"instance_id": instance.instance_id})
                self._record(instance, None)
            elif standby.state == "syncing":
                self._follow_sync(instance, standby, machine)
            elif instance.last_snapshot_id and instance.last_snapshot_id != standby.synced_snapshot_id:
                self._sync(instance, standby, machine, instance.last_snapshot_id)
            elif instance.suspected_at is None:
                self._rest(instance, standby, machine)
            # Else its GPU looks dead: the standby may have been started for the takeover to come.
        except StaleInstanceState:
            return  # it stopped running meanwhile: its failover owns the standby now
        except CpuMachineError as error:
            logger.warning(
                "Could not keep the CPU standby",
                extra={"instance_id": instance.instance_id, "why": error.message},
            )

    def release(self, instance: Instance) -> None:
        """The instance no longer uses the strategy: its standby is terminated and forgotten."""
        standby = instance.standby
        if standby is None or standby.kind != "cpu":
            return
        if standby.machine_id is not None:
            try:
                self.machines.terminate(standby.machine_id)
            except CpuMachineError as error:
                # The pass over the deployment's machines terminates it, since nobody keeps it.
                logger.warning("Could not terminate a CPU standby yet", extra={"why": error.message})
        with contextlib.suppress(StaleInstanceState):
            self.instances.configure(instance, {"standby": None})

    # Keeping it ready -----------------------------------------------------------------------------

    def _launch(self, instance: Instance) -> None:
        token = new_agent_token(instance.team_id, instance.instance_id)
        prefix = self.settings.machine_label_prefix
        machine = self.machines.launch(
            CpuMachineRequest(
                label=machine_label(prefix, instance.team_id, instance.instance_id),
                deployment=prefix,
                user_data=standby_user_data(instance, token, self.settings),
                disk_gb=instance.disk_gb,
            )
        )
        standby = Standby(
            kind="cpu",
            provider="ec2",
            machine_id=machine.machine_id,
            state="renting",
            region=self.region,
            ip_address=machine.ip_address,
            ssh_port=STANDBY_SSH_PORT,
            cost_per_hour=self.machines.cost_per_hour,
            since=self.clock(),
            agent_token_digest=agent_token_digest(token),
        )
        try:
            self._record(instance, standby)
        except StaleInstanceState:
            self.machines.terminate(machine.machine_id)
            raise
        logger.info(
            "CPU standby launched", extra={"instance_id": instance.instance_id, "machine": machine.machine_id}
        )

    def _sync(self, instance: Instance, standby: Standby, machine: CpuMachine, snapshot_id: str) -> None:
        """Start the standby if it is stopped, and ask its agent to restore `snapshot_id`."""
        if machine.state == CpuMachineState.STOPPING:
            return  # started on a later run, once stopped
        if machine.state == CpuMachineState.STOPPED:
            self.machines.start(machine.machine_id)
        action_id = self.agents.queue_action(
            instance.team_id,
            instance.instance_id,
            "restore",
            {"snapshot_id": snapshot_id},
            None,
            to_standby=True,
        )
        self._record(
            instance,
            standby.model_copy(
                update={
                    "state": "syncing",
                    "syncing_snapshot_id": snapshot_id,
                    "sync_action_id": action_id,
                    "ip_address": machine.ip_address or standby.ip_address,
                    "cost_per_hour": self.machines.cost_per_hour,
                }
            ),
        )

    def _follow_sync(self, instance: Instance, standby: Standby, machine: CpuMachine) -> None:
        action = (
            self.agents.action(instance.instance_id, standby.sync_action_id, to_standby=True)
            if standby.sync_action_id
            else None
        )
        if action is not None and action.status in ("pending", "running"):
            if machine.state == CpuMachineState.STOPPED:
                self.machines.start(machine.machine_id)  # stopped under it: its agent must run to restore
            return
        synced: dict[str, Any] = {"state": "ready", "syncing_snapshot_id": None, "sync_action_id": None}
        if action is not None and action.status == "completed":
            synced.update(synced_snapshot_id=standby.syncing_snapshot_id, synced_at=self.clock())
        self._rest(instance, standby.model_copy(update=synced), machine)

    def _rest(self, instance: Instance, standby: Standby, machine: CpuMachine) -> None:
        """Nothing to restore: the standby waits stopped, costing its disk alone."""
        if machine.state in ALIVE_STATES:
            self.machines.stop(machine.machine_id)
        rested = standby.model_copy(
            update={
                "state": "ready",
                "cost_per_hour": self.machines.stopped_cost_per_hour(instance.disk_gb),
                "ip_address": machine.ip_address or standby.ip_address,
            }
        )
        if rested != instance.standby:
            self._record(instance, rested)

    def _record(self, instance: Instance, standby: Standby | None) -> None:
        self.instances.transition(instance, expected=[InstanceStatus.RUNNING], changes={"standby": standby})

    def _look_up(self, machine_id: str) -> CpuMachine | None:
        try:
            return self.machines.get(machine_id)
        except CpuMachineError as error:
            logger.warning("Could not look the CPU standby up", extra={"why": error.message})
            return None

    # The pass over the deployment's machines ---------------------------------------------------------

    def sweep(self) -> list[str]:
        """Terminate every CPU machine of the deployment whose instance is gone or no longer keeps it;
        the ids of the machines terminated."""
        prefix = self.settings.machine_label_prefix
        try:
            machines = self.machines.of_deployment(prefix)
        except CpuMachineError as error:
            logger.warning("Could not list the CPU standbys", extra={"why": error.message})
            return []
        terminated = []
        now = self.clock()
        for machine in machines:
            owner = owner_of(machine.label, prefix)
            if owner is None:
                continue
            instance = self.instances.find(owner.team_id, owner.instance_id)
            reason = _unkept_because(instance, machine, now)
            if reason is None:
                continue
            try:
                self.machines.terminate(machine.machine_id)
            except CpuMachineError as error:
                logger.warning("Could not terminate an unkept CPU machine", extra={"why": error.message})
                continue
            terminated.append(machine.machine_id)
            self.instances.record_orphan_destroyed(
                owner.team_id, owner.instance_id, machine_id=machine.machine_id, reason=reason, provider="ec2"
            )
        return terminated


def _unkept_because(instance: Instance | None, machine: CpuMachine, now: datetime) -> str | None:
    """Why nobody keeps the CPU machine any more, or None when its instance does (or may, in a moment)."""
    if instance is None:
        return "its instance is unknown"
    if instance.status in (InstanceStatus.DELETED, InstanceStatus.DELETING):
        return f"its instance is {instance.status.value}"
    standby = instance.standby
    if standby is not None and standby.machine_id == machine.machine_id:
        return None
    if machine.launched_at is not None and now - machine.launched_at < UNRECORDED_GRACE:
        return None  # launched a moment ago: recorded on its instance in a moment
    return "its instance keeps another standby or none"
