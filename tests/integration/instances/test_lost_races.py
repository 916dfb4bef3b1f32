"""A second writer in between: every change a user asks for reads the instance, checks its state, then
writes on the condition that the state is still the one it read. When another request or a workflow
moved the instance in between, the change is refused with the state it found, and nothing of it is
written, started or undone over the other writer's change; when its workflow cannot start, the instance
goes back to where it was, unless someone else moved it meanwhile."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from logging import LogRecord
from typing import Any

import pytest

from dumont_core.instances.metrics import MetricsRepository
from dumont_core.instances.models import (
    EventType,
    Instance,
    InstanceEvent,
    InstanceSpec,
    InstanceStatus,
    PowerAction,
)
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.service import InstanceService
from dumont_core.platform.errors import InvalidState, ServiceUnavailable
from dumont_core.platform.identity import Principal
from dumont_core.serverless.repository import ServerlessRepository
from dumont_core.serverless.service import ServerlessService
from dumont_core.snapshots.repository import SnapshotRepository
from dumont_core.snapshots.service import SnapshotService
from dumont_core.snapshots.store import SnapshotStore
from tests.fakes.clock import Clock
from tests.fakes.events import InMemoryPublisher
from tests.fakes.workflows import RecordingStarter
from tests.integration.conftest import EVENT_RETENTION

TEAM = "team_00000000000000aa"
OWNER = Principal(account_id="acct_00000000000000aa", team_id=TEAM, role="admin")
INSTANCE_ID = "inst_00000000000000aa"
SNAPSHOT_ID = "snap_00000000000000aa"


class RacingRepository(InstanceRepository):
    """The table, with another writer that gets in just before the service's n-th conditional write."""

    def __init__(self) -> None:
        super().__init__(event_retention=EVENT_RETENTION)
        self.writes = 0
        self.cut_in: dict[int, Callable[[], None]] = {}

    def transition(self, instance: Instance, **kwargs: Any) -> Instance:
        self.writes += 1
        other_writer = self.cut_in.pop(self.writes, None)
        if other_writer is not None:
            other_writer()
        return super().transition(instance, **kwargs)

    def moves_to(self, status: InstanceStatus) -> Callable[[], None]:
        """Another writer moving the instance to `status`, as a request or a workflow would."""

        def move() -> None:
            current = self.get(TEAM, INSTANCE_ID)
            assert current is not None
            InstanceRepository.transition(
                self,
                current,
                expected=[current.status],
                changes={"status": status, "updated_at": current.updated_at + timedelta(seconds=1)},
            )

        return move


class World:
    def __init__(self) -> None:
        self.clock = Clock()
        self.repository = RacingRepository()
        self.starter = RecordingStarter()
        self.instances = InstanceService(
            repository=self.repository,
            readings=MetricsRepository(retention=timedelta(days=1)),
            publisher=InMemoryPublisher(),
            workflows=self.starter,
            clock=self.clock,
        )
        self.snapshots = SnapshotService(
            instances=self.instances,
            snapshots=SnapshotRepository(),
            store=SnapshotStore("snapshots-test"),
            workflows=self.starter,
            clock=self.clock,
        )
        self.serverless = ServerlessService(
            instances=self.instances,
            snapshots=self.snapshots,
            repository=ServerlessRepository(record_retention=timedelta(days=1)),
            heartbeat_seconds=5,
            clock=self.clock,
        )

    def instance_in(self, status: InstanceStatus, **fields: Any) -> Instance:
        now = self.clock()
        instance = Instance(
            instance_id=INSTANCE_ID,
            account_id=OWNER.account_id,
            team_id=TEAM,
            gpu_type="RTX_4090",
            image="pytorch/pytorch:latest",
            disk_gb=50,
            status=status,
            last_snapshot_id=SNAPSHOT_ID,
            created_at=now,
            updated_at=now,
            **fields,
        )
        self.repository.create(instance, InstanceEvent.of(EventType.CREATED, instance))
        return instance

    def status(self) -> InstanceStatus:
        found = self.repository.get(TEAM, INSTANCE_ID)
        assert found is not None
        return found.status

    def another_writer_before_write(self, write: int, status: InstanceStatus) -> None:
        self.repository.cut_in[write] = self.repository.moves_to(status)

    def workflows_cannot_start(self) -> None:
        self.starter.fail_with = RuntimeError("Step Functions is unavailable")


@pytest.fixture
def world(dynamodb_table: str) -> World:
    return World()


def refused_for_state(error: pytest.ExceptionInfo[InvalidState]) -> tuple[str, list[str]]:
    details = error.value.details
    assert details["instance_id"] == INSTANCE_ID
    assert isinstance(details["action"], str) and details["action"].strip()
    return details["current_state"], details["allowed_states"]


# Power actions and deletion (`_begin_change`) --------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "from_status", "allowed"),
    [
        (PowerAction.STOP, InstanceStatus.RUNNING, ["running"]),
        (PowerAction.REBOOT, InstanceStatus.RUNNING, ["running"]),
        (PowerAction.START, InstanceStatus.STOPPED, ["stopped"]),
    ],
)
def test_a_power_action_that_lost_the_race_names_the_state_the_other_writer_left(
    world: World, action: PowerAction, from_status: InstanceStatus, allowed: list[str]
) -> None:
    world.instance_in(from_status)
    world.another_writer_before_write(1, InstanceStatus.DELETING)

    with pytest.raises(InvalidState) as refused:
        world.instances.request_power_action(OWNER, INSTANCE_ID, action)

    assert refused_for_state(refused) == ("deleting", allowed)
    assert world.status() == InstanceStatus.DELETING
    assert world.starter.started == []


def test_a_delete_that_lost_the_race_to_another_delete_is_refused_and_starts_nothing(world: World) -> None:
    world.instance_in(InstanceStatus.STOPPED)
    world.another_writer_before_write(1, InstanceStatus.DELETING)

    with pytest.raises(InvalidState) as refused:
        world.instances.delete(OWNER, INSTANCE_ID)

    current, allowed = refused_for_state(refused)
    assert current == "deleting"
    assert "deleting" not in allowed and "deleted" not in allowed
    assert world.starter.started == []


@pytest.mark.parametrize(
    ("action", "ask", "from_status"),
    [
        (
            "stop",
            lambda world: world.instances.request_power_action(OWNER, INSTANCE_ID, PowerAction.STOP),
            "running",
        ),
        (
            "start",
            lambda world: world.instances.request_power_action(OWNER, INSTANCE_ID, PowerAction.START),
            "stopped",
        ),
        ("delete", lambda world: world.instances.delete(OWNER, INSTANCE_ID), "failed"),
    ],
    ids=["stop", "start", "delete"],
)
def test_a_change_whose_workflow_cannot_start_goes_back_to_where_it_was(
    world: World, action: str, ask: Callable[[World], Any], from_status: str, service_log: list[LogRecord]
) -> None:
    world.instance_in(InstanceStatus(from_status))
    world.workflows_cannot_start()

    with pytest.raises(ServiceUnavailable) as refused:
        ask(world)

    assert refused.value.message == f"Could not {action} the instance right now; please try again"
    assert world.status() == InstanceStatus(from_status)
    assert world.repository.writes == 2, "moved, then moved back"
    [logged] = service_log  # for the operators, with what failed and where
    assert logged.getMessage() == "Could not start workflow"
    assert (logged.instance_id, logged.action) == (INSTANCE_ID, action)  # type: ignore[attr-defined]
    assert logged.exc_info is not None and "Step Functions is unavailable" in str(logged.exc_info[1])


def test_going_back_never_overwrites_what_another_writer_did_meanwhile(world: World) -> None:
    world.instance_in(InstanceStatus.RUNNING)
    world.workflows_cannot_start()
    world.another_writer_before_write(2, InstanceStatus.DELETING)

    with pytest.raises(ServiceUnavailable):
        world.instances.request_power_action(OWNER, INSTANCE_ID, PowerAction.STOP)

    assert world.status() == InstanceStatus.DELETING


# Creation ---------------------------------------------------------------------------------------------


def test_an_instance_whose_provisioning_cannot_start_fails_saying_why(world: World) -> None:
    world.workflows_cannot_start()
    spec = InstanceSpec(gpu_type="RTX_4090", image="pytorch/pytorch:latest", disk_gb=50)

    with pytest.raises(ServiceUnavailable):
        world.instances.create(OWNER, spec)

    [instance] = world.repository.list_for_team(TEAM)
    assert instance.status == InstanceStatus.FAILED
    assert instance.status_reason == "provisioning could not be started"
    events = [event.type for event in world.repository.list_events(instance.instance_id)]
    assert events == [EventType.CREATED, EventType.FAILED]


def test_an_instance_moved_on_while_its_provisioning_could_not_start_is_left_as_it_was_moved(
    world: World,
) -> None:
    world.workflows_cannot_start()

    def deleted_meanwhile() -> None:
        [current] = world.repository.list_for_team(TEAM)
        changes = {"status": InstanceStatus.DELETING, "updated_at": current.updated_at + timedelta(seconds=1)}
        InstanceRepository.transition(world.repository, current, expected=[current.status], changes=changes)

    world.repository.cut_in[1] = deleted_meanwhile
    spec = InstanceSpec(gpu_type="RTX_4090", image="pytorch/pytorch:latest", disk_gb=50)

    with pytest.raises(ServiceUnavailable, match="Provisioning could not be started"):
        world.instances.create(OWNER, spec)

    [instance] = world.repository.list_for_team(TEAM)
    assert (instance.status, instance.status_reason) == (InstanceStatus.DELETING, None)
    events = [event.type for event in world.repository.list_events(instance.instance_id)]
    assert events == [EventType.CREATED], "it did not fail: it is being deleted"


# Hibernation and waking --------------------------------------------------------------------------------


def test_a_hibernation_that_lost_the_race_names_the_state_it_found_and_takes_no_snapshot(
    world: World,
) -> None:
    instance = world.instance_in(InstanceStatus.RUNNING)
    world.another_writer_before_write(1, InstanceStatus.STOPPING)

    with pytest.raises(InvalidState) as refused:
        world.snapshots.hibernate_instance(instance, "idle")

    assert refused_for_state(refused) == ("stopping", ["running"])
    assert refused.value.details["action"] == "hibernate"
    assert world.snapshots.list_snapshots(OWNER) == []
    assert world.starter.started == []


def test_a_hibernation_whose_snapshot_cannot_start_keeps_the_machine_running(world: World) -> None:
    instance = world.instance_in(InstanceStatus.RUNNING)
    world.workflows_cannot_start()

    with pytest.raises(ServiceUnavailable):
        world.snapshots.hibernate_instance(instance, "idle")

    stored = world.repository.get(TEAM, INSTANCE_ID)
    assert stored is not None
    assert (stored.status, stored.status_reason) == (InstanceStatus.RUNNING, None)
    [snapshot] = world.snapshots.list_snapshots(OWNER)
    assert snapshot.status == "failed"


def test_a_hibernation_going_back_never_overwrites_another_writer(world: World) -> None:
    instance = world.instance_in(InstanceStatus.RUNNING)
    world.workflows_cannot_start()
    world.another_writer_before_write(2, InstanceStatus.DELETING)

    with pytest.raises(ServiceUnavailable):
        world.snapshots.hibernate_instance(instance, "idle")

    assert world.status() == InstanceStatus.DELETING


@pytest.mark.parametrize("from_status", [InstanceStatus.HIBERNATED, InstanceStatus.INTERRUPTED])
def test_a_wake_that_lost_the_race_is_refused_and_starts_nothing(
    world: World, from_status: InstanceStatus
) -> None:
    world.instance_in(from_status)
    world.another_writer_before_write(1, InstanceStatus.DELETING)

    with pytest.raises(InvalidState) as refused:
        world.snapshots.wake(OWNER, INSTANCE_ID)

    assert refused_for_state(refused) == ("changed meanwhile", ["hibernated", "interrupted"])
    assert refused.value.details["action"] == "wake"
    assert world.status() == InstanceStatus.DELETING
    assert world.starter.started == []


def test_a_wake_that_cannot_start_goes_back_to_sleep(world: World) -> None:
    world.instance_in(InstanceStatus.INTERRUPTED)
    world.workflows_cannot_start()

    assert world.snapshots.recover(world.repository.get(TEAM, INSTANCE_ID)) is None  # type: ignore[arg-type]

    stored = world.repository.get(TEAM, INSTANCE_ID)
    assert stored is not None
    assert stored.status == InstanceStatus.INTERRUPTED
    assert stored.failing_over_since is None, "no failover is under way"
    events = [event.type for event in world.repository.list_events(INSTANCE_ID)]
    assert events[-1] == EventType.FAILOVER_FAILED


def test_a_wake_going_back_never_overwrites_another_writer(world: World) -> None:
    world.instance_in(InstanceStatus.HIBERNATED)
    world.workflows_cannot_start()
    world.another_writer_before_write(2, InstanceStatus.DELETING)

    with pytest.raises(ServiceUnavailable):
        world.snapshots.wake(OWNER, INSTANCE_ID)

    assert world.status() == InstanceStatus.DELETING


# Serverless mode ---------------------------------------------------------------------------------------


def test_turning_serverless_mode_on_for_an_instance_deleted_meanwhile_is_refused(world: World) -> None:
    world.instance_in(InstanceStatus.RUNNING)
    world.another_writer_before_write(1, InstanceStatus.DELETED)

    with pytest.raises(InvalidState) as refused:
        world.serverless.enable(OWNER, INSTANCE_ID, idle_timeout_minutes=15, gpu_threshold=5)

    current, allowed = refused_for_state(refused)
    assert current == "deleted"
    assert "deleted" not in allowed and "deleting" not in allowed and "running" in allowed
    stored = world.repository.get(TEAM, INSTANCE_ID)
    assert stored is not None
    assert not stored.auto_hibernate


def test_an_idle_check_that_lost_the_race_hibernates_nothing_and_is_no_failure(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.instance_in(
        InstanceStatus.RUNNING, auto_hibernate=True, idle_timeout_minutes=0.25, running_since=world.clock()
    )
    world.serverless.repository.watch(TEAM, INSTANCE_ID)
    for _ in range(4):
        world.instances.record_heartbeat(TEAM, INSTANCE_ID, {"gpu_utilization": 1.0})
        world.clock.advance(seconds=5)
    world.another_writer_before_write(1, InstanceStatus.STOPPING)

    assert world.serverless.check_idle() == []

    assert world.status() == InstanceStatus.STOPPING
    assert world.snapshots.list_snapshots(OWNER) == []
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_a_snapshot_completed_after_the_instance_stopped_running_is_only_recorded(world: World) -> None:
    world.instance_in(InstanceStatus.RUNNING, last_snapshot_at=datetime(2025, 1, 1, tzinfo=UTC))
    world.another_writer_before_write(1, InstanceStatus.STOPPING)

    world.instances.snapshot_completed(TEAM, INSTANCE_ID, snapshot_id="snap_00000000000000cc")

    stored = world.repository.get(TEAM, INSTANCE_ID)
    assert stored is not None
    assert stored.last_snapshot_id == SNAPSHOT_ID, "not the one a stopped instance would wake from"
    events = [event.type for event in world.repository.list_events(INSTANCE_ID)]
    assert events[-1] == EventType.SNAPSHOT_COMPLETED
