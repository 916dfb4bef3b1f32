"""The warm pool over the real instance service (moto) and the in-memory marketplace: keeping a stopped
standby that holds the last checkpoint, its agent's own identity, taking over from it, and what a
second failure does."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from dumont_core.agents.logs import InstanceLogs
from dumont_core.agents.repository import ActionRepository
from dumont_core.agents.service import AgentService
from dumont_core.failover.models import status_of
from dumont_core.failover.paths import FailoverRecovery
from dumont_core.failover.warmpool import WarmPoolPath
from dumont_core.failover.warmpool_steps import WarmPoolSteps
from dumont_core.instances.agent_tokens import new_agent_token
from dumont_core.instances.interruptions import InterruptionWatch
from dumont_core.instances.models import FailoverStrategy, Instance, InstanceStatus, InterruptionReason
from dumont_core.instances.step_support import InstanceNoLongerWanted, MachineFailed
from dumont_core.platform.errors import InsufficientBalance
from dumont_core.platform.identity import Principal
from dumont_core.platform.settings import ProviderSettings
from dumont_core.platform.workflows import Workflow
from dumont_core.providers.models import ProviderMachineStatus
from tests.fakes.meter import CountingMeter
from tests.fakes.provider import offer
from tests.fakes.workflows import step_failure
from tests.integration.instances.conftest import SSH_KEY, Cloud, ref_of, spec

SNAPSHOT = "snap_00000000000000a1"
LATER_SNAPSHOT = "snap_00000000000000b2"


@dataclass
class Warm:
    cloud: Cloud
    path: WarmPoolPath
    steps: WarmPoolSteps

    def running(self, *, checkpointed: bool = True) -> Instance:
        """A running instance with failover strategy warmpool and, unless told, a completed checkpoint."""
        instance = self.cloud.provision(
            failover_enabled=True, failover_strategy="warmpool", ssh_key=SSH_KEY, region="us-east"
        ).instance
        if checkpointed:
            self.checkpoint(instance)
        return self.cloud.stored(instance)

    def checkpoint(self, instance: Instance) -> None:
        self.cloud.service.snapshot_completed(instance.team_id, instance.instance_id, snapshot_id=SNAPSHOT)

    def ready(self, instance: Instance) -> str:
        """Run the standby workflow's steps until the standby is ready; its machine's id."""
        self.path.keep_ready(instance)
        ref = ref_of(instance)
        candidates = self.steps.choose_standby_offers(ref)["candidates"]
        machine_id: str = self.steps.rent_standby(ref, candidates)["provider_instance_id"]
        assert self.steps.check_standby_boot(ref, machine_id) == {"state": "pending"}
        self.cloud.provider.machines[machine_id].comes_up(ip="198.51.100.9", ssh_port=41022)
        assert self.steps.check_standby_boot(ref, machine_id) == {"state": "running"}
        self.steps.stop_standby(ref, machine_id, SNAPSHOT)
        assert self.steps.check_standby_stopped(ref, machine_id) == {"state": "pending"}
        stopped = self.cloud.provider.machines[machine_id]
        stopped.status, stopped.price_per_hour = ProviderMachineStatus.STOPPED, 0.02
        assert self.steps.check_standby_stopped(ref, machine_id) == {"state": "ready"}
        return machine_id

    def interrupted(self, instance: Instance) -> Instance:
        died = self.cloud.clock() - timedelta(seconds=20)
        return self.cloud.service.interrupt(
            self.cloud.stored(instance), InterruptionReason.HOST_OFFLINE, "host offline", died
        )


@pytest.fixture
def warm(cloud: Cloud, settings: ProviderSettings) -> Warm:
    cloud.provider.offers[:] = [
        offer(2, price=0.50, min_bid=0.30, region="us-east"),
        offer(21, price=0.55, min_bid=None, region="us-central"),
        offer(22, price=0.90, region="us-east"),
        offer(23, price=0.30, region="eu-west"),
        offer(24, gpu_name="A100 SXM4", price=1.20, region="us-east"),
        offer(25, price=0.95, region="us-east"),
    ]
    return Warm(
        cloud=cloud,
        path=WarmPoolPath(instances=cloud.service, workflows=cloud.starter, clock=cloud.clock),
        steps=WarmPoolSteps(
            instances=cloud.service, provider=cloud.provider, settings=settings, clock=cloud.clock
        ),
    )


def test_a_standby_is_rented_on_another_host_once_there_is_a_checkpoint_and_kept_stopped(warm: Warm) -> None:
    cloud = warm.cloud
    instance = warm.running(checkpointed=False)
    warm.path.keep_ready(instance)
    assert cloud.stored(instance).standby is None, "nothing to hold before the first checkpoint"
    warm.checkpoint(instance)
    instance = cloud.stored(instance)

    machine_id = warm.ready(instance)
    warm.path.keep_ready(cloud.stored(instance))

    standby = cloud.stored(instance).standby
    assert standby is not None and standby.state == "ready" and standby.machine_id == machine_id
    rented = cloud.provider.machines[machine_id]
    assert rented.offer.offer_id == 22, "the instance's region first, on another host than its own"
    assert rented.label == cloud.label(instance)
    assert ("stop", machine_id) in cloud.provider.power_requests
    assert (standby.synced_snapshot_id, standby.cost_per_hour, standby.running_cost_per_hour) == (
        SNAPSHOT,
        0.02,
        0.9,
    )
    started = [name for name, _, _ in cloud.starter.started]
    assert started.count(Workflow.WARMPOOL_STANDBY) == 1, "one standby, however often housekeeping runs"
    shown = status_of(cloud.stored(instance), [], cloud.clock()).standby
    assert (
        shown is not None and shown.cost_per_hour == 0.02 and "agent_token_digest" not in shown.model_dump()
    )
    assert cloud.reconciler.reconcile().destroyed == []


def test_nearby_regions_come_before_far_ones_when_the_instances_own_has_no_other_host(warm: Warm) -> None:
    cloud = warm.cloud
    cloud.provider.gone_offers.update({22, 25})
    instance = warm.running()
    warm.path.keep_ready(instance)

    candidates = warm.steps.choose_standby_offers(ref_of(instance))["candidates"]

    assert [candidate["offer_id"] for candidate in candidates] == [21, 23]


def test_the_standbys_agent_has_its_own_identity_and_its_own_actions(warm: Warm) -> None:
    cloud = warm.cloud
    # Agent tokens carry the team's and the instance's ids, which are hexadecimal.
    team = Principal(account_id="acct_00000000000000aa", team_id="team_00000000000000aa")
    created = cloud.service.create(
        team, spec(failover_enabled=True, failover_strategy="warmpool", ssh_key=SSH_KEY, region="us-east")
    )
    ref = ref_of(created)
    first = cloud.steps.rent_machine(ref, cloud.steps.choose_offers(ref)["candidates"])[
        "provider_instance_id"
    ]
    cloud.provider.machines[first].comes_up()
    cloud.steps.check_boot(ref, first)
    warm.checkpoint(created)
    instance = cloud.stored(created)
    agents = AgentService(
        instances=cloud.service,
        actions=ActionRepository(retention=timedelta(days=7)),
        logs=InstanceLogs("/dumont/instances"),
        heartbeat_seconds=1,
        clock=cloud.clock,
    )
    warm.path.keep_ready(instance)
    steps = replace(
        warm.steps, settings=warm.steps.settings.model_copy(update={"public_api_url": "https://api.example"})
    )
    machine_id = steps.rent_standby(ref, steps.choose_standby_offers(ref)["candidates"])[
        "provider_instance_id"
    ]
    script = cloud.provider.machines[machine_id].onstart_script or ""
    token = script.split("DUMONT_AGENT_TOKEN=")[1].split()[0]
    assert SSH_KEY in script

    principal = agents.authenticate(token)
    assert principal is not None and principal.standby and principal.instance_id == instance.instance_id
    assert agents.authenticate(new_agent_token(instance.team_id, instance.instance_id)) is None
    own = agents.queue_action(instance.team_id, instance.instance_id, "snapshot", {}, None)
    theirs = agents.queue_action(
        instance.team_id, instance.instance_id, "restore", {"snapshot_id": SNAPSHOT}, None, to_standby=True
    )
    heard_before = cloud.stored(instance).last_heartbeat_at

    answer = agents.heartbeat(principal, {"gpu_utilization": 0})

    assert [action["id"] for action in answer.actions] == [theirs]
    assert own != theirs
    assert cloud.stored(instance).last_heartbeat_at == heard_before, (
        "its silence or voice is not the machine's"
    )


def test_the_instance_fails_over_onto_its_ready_standby_with_its_id_team_and_key(warm: Warm) -> None:
    cloud = warm.cloud
    instance = warm.running()
    machine_id = warm.ready(instance)
    standby_digest = cloud.stored(instance).standby.agent_token_digest  # type: ignore[union-attr]
    interrupted = warm.interrupted(instance)
    cloud.service.snapshot_completed(instance.team_id, instance.instance_id, snapshot_id=LATER_SNAPSHOT)

    waking = warm.path.recover(interrupted)

    assert waking is not None and waking.status == InstanceStatus.WAKING
    assert waking.standby is not None and waking.standby.state == "taking_over"
    workflow, _, payload = cloud.starter.started[-1]
    assert workflow == Workflow.WARMPOOL_FAILOVER
    assert payload["machine"] == {"provider_instance_id": machine_id}
    billed = round(cloud.stored(instance).cost_at(cloud.clock()), 4)
    ref = ref_of(instance)
    warm.steps.start_standby(ref, machine_id)
    assert ("start", machine_id) in cloud.provider.power_requests
    cloud.clock.advance(seconds=4)
    assert warm.steps.check_takeover_boot(ref, machine_id) == {"state": "pending"}
    cloud.provider.machines[machine_id].status = ProviderMachineStatus.RUNNING
    assert warm.steps.check_takeover_boot(ref, machine_id) == {"state": "running"}
    cloud.clock.advance(seconds=3)
    assert round(cloud.stored(instance).cost_at(cloud.clock()), 4) == billed, "nothing ran, nothing billed"
    warm.steps.switch_to_standby(ref, machine_id)

    after = cloud.stored(instance)
    assert after.status == InstanceStatus.RUNNING and after.provider_instance_id == machine_id
    assert (after.instance_id, after.team_id, after.ssh_key) == (
        instance.instance_id,
        instance.team_id,
        SSH_KEY,
    )
    assert (after.ip_address, after.ssh_port, after.cost_per_hour) == ("198.51.100.9", 41022, 0.9)
    assert after.agent_token_digest == standby_digest and after.standby is None
    assert after.last_failover_at == cloud.clock() and after.running_since == cloud.clock()
    completed = [event for event in cloud.published(instance) if event.type.value == "failover.completed"]
    assert completed[-1].details["strategy"] == "warmpool"
    assert completed[-1].details["recovered_after_seconds"] == 7.0
    warm.path.keep_ready(after)
    assert cloud.stored(instance).standby is not None, "the pool is refilled after a failover"


def test_a_standby_that_dies_while_taking_over_is_given_back_and_the_snapshot_path_goes_on(
    warm: Warm,
) -> None:
    cloud = warm.cloud
    instance = warm.running()
    machine_id = warm.ready(instance)
    interrupted = warm.interrupted(instance)
    assert warm.path.recover(interrupted) is not None
    ref = ref_of(instance)
    del cloud.provider.machines[machine_id]  # its host is gone too

    with pytest.raises(MachineFailed):
        warm.steps.start_standby(ref, machine_id)
    outcome = warm.steps.fall_back(ref, machine_id, step_failure(MachineFailed("the standby is gone")))

    assert outcome == {"fallback": True}
    waiting = cloud.stored(instance)
    assert waiting.status == InstanceStatus.WAKING and waiting.standby is None
    assert waiting.provider_instance_id is None and waiting.last_snapshot_id == SNAPSHOT
    kinds = [(event.type.value, event.details.get("strategy")) for event in cloud.published(instance)]
    assert kinds[-2:] == [("failover.failed", "warmpool"), ("failover.started", "snapshot")]
    # The snapshot's steps of the same workflow rent a new machine and restore onto it.
    candidates = cloud.steps.choose_offers(ref, waking=True)["candidates"]
    new_machine = cloud.steps.rent_machine(ref, candidates, waking=True)["provider_instance_id"]
    cloud.provider.machines[new_machine].comes_up()
    assert cloud.steps.check_boot(ref, new_machine, waking=True) == {"state": "running"}
    cloud.steps.finish_wake(ref)
    assert cloud.stored(instance).status == InstanceStatus.RUNNING
    assert set(cloud.provider.machines) == {new_machine}, "nothing else stays rented"


def test_a_standby_is_given_back_when_the_instance_is_deleted_while_it_takes_over(warm: Warm) -> None:
    cloud = warm.cloud
    instance = warm.running()
    machine_id = warm.ready(instance)
    assert warm.path.recover(warm.interrupted(instance)) is not None
    cloud.delete(cloud.stored(instance))
    ref = ref_of(instance)

    with pytest.raises(InstanceNoLongerWanted):
        warm.steps.start_standby(ref, machine_id)
    outcome = warm.steps.fall_back(
        ref, machine_id, step_failure(InstanceNoLongerWanted(instance.instance_id))
    )

    assert outcome == {"fallback": False}
    assert machine_id not in cloud.provider.machines


def test_without_a_ready_standby_the_snapshot_path_brings_the_instance_back(warm: Warm) -> None:
    cloud = warm.cloud
    instance = warm.running()
    warm.path.keep_ready(instance)  # renting, not ready
    fallback = FailoverRecovery(
        instances=cloud.service,
        fallback=warm.path,  # stands in for the snapshot's path below
        paths={FailoverStrategy.WARMPOOL: warm.path},
    )
    interrupted = warm.interrupted(instance)

    assert warm.path.recover(interrupted) is None
    assert cloud.stored(instance).standby is None, (
        "the standby being rented is dropped, its machine given back"
    )
    assert fallback.path_of(interrupted) is warm.path


def test_a_dead_standby_is_dropped_by_the_watch_and_rented_again(warm: Warm) -> None:
    cloud = warm.cloud
    instance = warm.running()
    machine_id = warm.ready(instance)
    cloud.provider.machines[machine_id].status = ProviderMachineStatus.FAILED
    watch = InterruptionWatch(
        instances=cloud.service,
        provider=cloud.provider,
        heartbeat_seconds=60,
        confirm_seconds=20,
        clock=cloud.clock,
    )

    watch.look(cloud.provider.list_machines())

    assert cloud.stored(instance).standby is None
    assert machine_id not in cloud.provider.machines
    assert cloud.stored(instance).status == InstanceStatus.RUNNING, "the instance itself is fine"
    warm.path.keep_ready(cloud.stored(instance))
    assert cloud.stored(instance).standby is not None


def test_a_failed_standby_workflow_gives_back_what_it_rented(warm: Warm) -> None:
    cloud = warm.cloud
    instance = warm.running()
    warm.path.keep_ready(instance)
    ref = ref_of(instance)
    machine_id = warm.steps.rent_standby(ref, warm.steps.choose_standby_offers(ref)["candidates"])[
        "provider_instance_id"
    ]

    warm.steps.fail_standby(ref, step_failure(MachineFailed("the agent never restored")))

    assert machine_id not in cloud.provider.machines and cloud.stored(instance).standby is None


def test_a_standby_dropped_while_it_was_rented_is_given_back_by_the_step_that_rented_it(
    warm: Warm,
) -> None:
    cloud = warm.cloud
    instance = warm.running()
    warm.path.keep_ready(instance)
    ref = ref_of(instance)
    candidates = warm.steps.choose_standby_offers(ref)["candidates"]
    cloud.provider.on_create = lambda _: warm.path.release(cloud.stored(instance))

    with pytest.raises(InstanceNoLongerWanted):
        warm.steps.rent_standby(ref, candidates)

    assert [machine.machine_id for machine in cloud.provider.machines.values()] == [
        instance.provider_instance_id
    ]


def test_a_team_that_cannot_pay_for_a_standby_gets_none_rented(warm: Warm) -> None:
    instance = warm.running()
    broke = CountingMeter()
    broke.refuses = True
    path = replace(warm.path, instances=replace(warm.cloud.service, meter=broke))
    started_before = list(warm.cloud.starter.started)

    with pytest.raises(InsufficientBalance):
        path.keep_ready(instance)

    assert warm.cloud.stored(instance).standby is None
    assert warm.cloud.starter.started == started_before, "no standby workflow, no machine rented"
