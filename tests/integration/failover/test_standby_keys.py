"""SSH keys changed while a failover standby waits stopped are the keys of the machine that takes over:
a removed key no longer opens it and an added one does (warm pool and CPU standby alike)."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from dumont_core.agents.service import AgentService
from dumont_core.agents.ssh_keys import SshKeyService
from dumont_core.instances.models import Instance, InterruptionReason
from dumont_core.instances.provisioning_steps import AUTHORIZED_KEYS_BEGIN, AUTHORIZED_KEYS_END
from dumont_core.platform.identity import Principal
from dumont_core.providers.models import ProviderMachineStatus
from tests.integration.failover.standbys import TEAM, Standbys
from tests.integration.failover.test_warmpool import Warm, warm
from tests.integration.instances import conftest as instances_conftest
from tests.integration.instances.conftest import SSH_KEY, ref_of

__all__ = ["warm"]

BOB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWNXuP6uPYQadPK5qqvzn5+3LzQRqpDMwyPnua0R2Tn bob@box"


def swap_alice_for_bob(keys: SshKeyService, instance: Instance) -> None:
    """Add Bob's key, then remove the key given at creation (Alice's)."""
    keys.add(TEAM, instance.instance_id, BOB, None)
    alice = next(key for key in keys.keys(TEAM, instance.instance_id) if key.public_key == SSH_KEY)
    keys.remove(TEAM, instance.instance_id, alice.key_id)


def newest_keys_asked(agents: AgentService, agent: Principal) -> list[str]:
    """The list of the newest version the agent is asked to install (versions order them, not queue time)."""
    asked = [action for action in agents.heartbeat(agent, {}).actions if action["type"] == "authorize_keys"]
    assert asked, "the standby's agent is sent the list"
    return list(max(asked, key=lambda action: action["version"])["keys"])


def test_a_warm_standby_promoted_after_a_key_change_gets_the_current_keys(
    warm: Warm, standbys: Standbys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(instances_conftest, "PRINCIPAL", TEAM)
    cloud, agents = warm.cloud, standbys.agents
    settings = warm.steps.settings.model_copy(update={"public_api_url": "https://api.example.com"})
    warm = replace(warm, steps=replace(warm.steps, settings=settings))
    instance = warm.running()
    machine_id = warm.ready(instance)
    script = cloud.provider.machines[machine_id].onstart_script or ""
    token = script.split("DUMONT_AGENT_TOKEN=")[1].split()[0]
    standby_agent = agents.authenticate(token)
    assert standby_agent is not None and standby_agent.standby
    first = agents.heartbeat(standby_agent, {}, wants_ssh_keys=True)
    assert (first.ssh_keys, first.ssh_keys_version) == ([SSH_KEY], 0), "what its agent holds from boot"
    keys = SshKeyService(instances=cloud.service, agents=agents, clock=cloud.clock)

    swap_alice_for_bob(keys, cloud.stored(instance))

    assert newest_keys_asked(agents, standby_agent) == [BOB]
    waking = warm.path.recover(warm.interrupted(instance))
    assert waking is not None
    ref = ref_of(instance)
    warm.steps.start_standby(ref, machine_id)
    cloud.provider.machines[machine_id].status = ProviderMachineStatus.RUNNING
    warm.steps.check_takeover_boot(ref, machine_id)
    warm.steps.switch_to_standby(ref, machine_id)
    promoted = agents.authenticate(token)
    assert promoted is not None and not promoted.standby, "its agent is the instance's now"

    answer = agents.heartbeat(promoted, {}, keys_version_held=0)

    assert answer.ssh_keys == [BOB], "the stopped standby missed the change: it gets the list now"
    assert agents.heartbeat(promoted, {}, keys_version_held=answer.ssh_keys_version).ssh_keys is None


def test_a_cpu_standby_holds_its_keys_in_the_managed_block_and_takes_over_with_the_current_ones(
    standbys: Standbys,
) -> None:
    cloud, agents = standbys.cloud, standbys.agents
    instance = standbys.running_with_failover().instance
    standbys.synced(instance)
    machine_id = str(cloud.stored(instance).standby.machine_id)  # type: ignore[union-attr]
    attribute = standbys.ec2.describe_instance_attribute(InstanceId=machine_id, Attribute="userData")
    user_data = base64.b64decode(attribute["UserData"]["Value"]).decode()
    block = user_data.split(AUTHORIZED_KEYS_BEGIN, 1)[1].split(AUTHORIZED_KEYS_END, 1)[0]
    assert SSH_KEY in block and user_data.count(SSH_KEY) == 1, "the agent can take it out later"
    standby_agent = standbys.standby_agent(instance)
    keys = SshKeyService(instances=cloud.service, agents=agents, clock=cloud.clock)

    swap_alice_for_bob(keys, cloud.stored(instance))

    assert newest_keys_asked(agents, standby_agent) == [BOB]
    interrupted = cloud.service.interrupt(
        cloud.stored(instance), InterruptionReason.HOST_OFFLINE, "host offline", cloud.clock()
    )
    standbys.path.recover(interrupted)
    steps, ref = standbys.steps(), ref_of(instance)
    steps.start_standby(ref)
    steps.start_standby(ref)
    steps.activate_standby(ref)

    answer = agents.heartbeat(standbys.standby_agent(instance), {}, keys_version_held=0)

    assert answer.ssh_keys == [BOB], "an agent that missed the change gets the list at its next heartbeat"
