"""The SSH keys that may log in to an instance: kept on the instance, and installed by its agent.

A change reaches the running machine and its failover standby as `authorize_keys` actions, which their
agents carry out within a heartbeat; a machine rented later (started, woken, failed over) gets them all
from its agent's first heartbeat, and one whose agent holds an older list (a standby stopped at the
change, then promoted) gets them at its next heartbeat. Keys are installed in a block of
`authorized_keys` of their own, so keys the provider or the user put there otherwise stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from dumont_core.agents.service import AgentService
from dumont_core.instances.models import AGENT_STATES, DELETABLE_STATES, Instance, StaleInstanceState
from dumont_core.instances.service import InstanceService
from dumont_core.instances.ssh_keys import MAX_KEYS_PER_INSTANCE, SshKey, read_public_key
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import Conflict, InvalidState, NotFound
from dumont_core.platform.identity import Principal

AUTHORIZE_KEYS = "authorize_keys"
ATTEMPTS = 3
"""Reads and conditional writes tried when another change to the instance gets in between."""


def ssh_key_not_found(instance_id: str, key_id: str) -> NotFound:
    return NotFound(
        "SSH_KEY_NOT_FOUND", f"Instance {instance_id} has no SSH key {key_id}", instance_id=instance_id
    )


def changed_meanwhile(instance_id: str) -> Conflict:
    return Conflict(
        f"Instance {instance_id} kept changing while its keys were updated; try again",
        details={"instance_id": instance_id},
    )


@dataclass(frozen=True, kw_only=True)
class SshKeyService:
    instances: InstanceService
    agents: AgentService
    clock: Clock = utc_now

    def keys(self, principal: Principal, instance_id: str) -> list[SshKey]:
        return self.instances.get(principal, instance_id).ssh_keys

    def add(self, principal: Principal, instance_id: str, public_key: str, name: str | None) -> SshKey:
        key = read_public_key(public_key, name, self.clock())
        for _ in range(ATTEMPTS):
            instance = self._changeable(principal, instance_id, "add an SSH key to")
            same = next((known for known in instance.ssh_keys if known.sha256 == key.sha256), None)
            if same is not None:
                raise Conflict(
                    f"This key is already authorized on {instance_id} as {same.key_id} ({same.name})",
                    details={"instance_id": instance_id, "key_id": same.key_id},
                )
            if len(instance.ssh_keys) >= MAX_KEYS_PER_INSTANCE:
                raise Conflict(
                    f"Instance {instance_id} already has {MAX_KEYS_PER_INSTANCE} SSH keys; remove one first",
                    details={"instance_id": instance_id, "limit": MAX_KEYS_PER_INSTANCE},
                )
            try:
                updated = self.instances.replace_ssh_keys(instance, [*instance.ssh_keys, key])
            except StaleInstanceState:
                continue
            self._install(updated)
            return key
        raise changed_meanwhile(instance_id)

    def remove(self, principal: Principal, instance_id: str, key_id: str) -> SshKey:
        for _ in range(ATTEMPTS):
            instance = self._changeable(principal, instance_id, "remove an SSH key from")
            removed = next((known for known in instance.ssh_keys if known.key_id == key_id), None)
            if removed is None:
                raise ssh_key_not_found(instance_id, key_id)
            kept = [known for known in instance.ssh_keys if known.key_id != key_id]
            try:
                updated = self.instances.replace_ssh_keys(instance, kept)
            except StaleInstanceState:
                continue
            self._install(updated)
            return removed
        raise changed_meanwhile(instance_id)

    def _changeable(self, principal: Principal, instance_id: str, action: str) -> Instance:
        instance = self.instances.get(principal, instance_id)
        if instance.status not in DELETABLE_STATES:
            allowed = sorted(status.value for status in DELETABLE_STATES)
            raise InvalidState(instance_id, action, instance.status.value, allowed)
        return instance

    def _install(self, instance: Instance) -> None:
        """Hand the whole list to the machine's agent, if one runs, and to its failover standby's, if it
        has one: a standby that takes over must not open to a removed key, nor refuse an added one. A
        machine whose agent misses it (stopped, not started yet) is handed the list at its next
        heartbeat, since it holds an older version."""
        keys = {
            "keys": [key.public_key for key in instance.ssh_keys],
            "version": instance.ssh_keys_version,
        }
        standby = instance.standby
        if standby is not None and standby.agent_token_digest is not None:
            self.agents.queue_action(
                instance.team_id, instance.instance_id, AUTHORIZE_KEYS, keys, None, to_standby=True
            )
        if instance.status in AGENT_STATES and not instance.on_standby:
            self.agents.queue_action(instance.team_id, instance.instance_id, AUTHORIZE_KEYS, keys, None)
