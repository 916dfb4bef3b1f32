"""A new instance, field by field as `GET /api/v1/instances/{id}` shows it: what was asked, in the state
it starts in, with the keys that may log in, the defaults its failover and serverless settings start
from, its creation on the timeline and the bus, and provisioning started; or refused before anything is
written, when the team's balance does not pay an hour of the machine it would rent."""

from __future__ import annotations

import re
from logging import LogRecord
from typing import Any

import pytest

from dumont_core.instances.account_keys import AccountKeyRepository, AccountKeyService
from dumont_core.instances.models import EventType, FailoverStrategy, Instance, InstanceStatus
from dumont_core.instances.service import InstanceService
from dumont_core.platform.errors import InsufficientBalance, ServiceUnavailable
from dumont_core.platform.workflows import Workflow
from tests.fakes.meter import CountingMeter, FixedQuotes
from tests.integration.instances.conftest import PRINCIPAL, SSH_KEY, Cloud, spec

BOB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWNXuP6uPYQadPK5qqvzn5+3LzQRqpDMwyPnua0R2Tn bob@box"
QUOTED_PRICE = 0.42


class WatchList:
    """Whoever hibernates idle instances: the instances it was told to watch."""

    def __init__(self) -> None:
        self.watched: list[tuple[str, str]] = []

    def watch(self, team_id: str, instance_id: str) -> None:
        self.watched.append((team_id, instance_id))


class Creating:
    """The instance service as the API runs it, with a meter, quotes, an idle watch and account keys."""

    def __init__(self, cloud: Cloud, quoted: float | None = QUOTED_PRICE) -> None:
        self.cloud = cloud
        self.meter = CountingMeter()
        self.quotes = FixedQuotes(quoted)
        self.idle_watch = WatchList()
        self.account_keys = AccountKeyService(repository=AccountKeyRepository(), clock=cloud.clock)
        self.service = InstanceService(
            repository=cloud.repository,
            readings=cloud.service.readings,
            publisher=cloud.publisher,
            workflows=cloud.starter,
            idle_watch=self.idle_watch,
            meter=self.meter,
            quotes=self.quotes,
            account_keys=self.account_keys,
            clock=cloud.clock,
        )

    def create(self, **overrides: Any) -> Instance:
        return self.service.create(PRINCIPAL, spec(**overrides))


@pytest.fixture
def creating(cloud: Cloud, dynamodb_table: str) -> Creating:
    return Creating(cloud)


def shown(instance: Instance) -> dict[str, Any]:
    """Every field of the instance but its id and keys, which are checked apart."""
    return instance.model_dump(exclude={"instance_id", "ssh_keys"})


ASKED_FOR = {
    "account_id": "acct_1",
    "team_id": "team_1",
    "name": "trainer",
    "gpu_type": "RTX_4090",
    "num_gpus": 2,
    "requested_region": "us-east",
    "image": "pytorch/pytorch:latest",
    "disk_gb": 100,
    "ssh_key": SSH_KEY,
}
NOTHING_RENTED_YET: dict[str, Any] = {
    "status_reason": None,
    "provider": "vastai",
    "provider_instance_id": None,
    "offer_id": None,
    "region": "us-east",
    "gpu_name": None,
    "gpu_memory_gb": None,
    "ip_address": None,
    "ssh_port": None,
    "jupyter_port": None,
    "ssh_host": None,
    "jupyter_url": None,
    "cost_per_hour": None,
    "host_reliability": None,
    "running_since": None,
    "billed_seconds": 0.0,
    "closed_cost": 0.0,
    "last_failover_at": None,
    "suspected_at": None,
    "failing_over_since": None,
    "standby": None,
    "agent_token_digest": None,
    "last_heartbeat_at": None,
    "heartbeat_interval_seconds": None,
    "latest_metrics": None,
    "serverless_since": None,
    "hibernated_at": None,
    "last_snapshot_id": None,
    "last_snapshot_at": None,
    "checkpoint_started_at": None,
    "watchers": [],
    "ssh_keys_version": 0,
    "stopped_cost_per_hour": None,
    "stopped_since": None,
    "standby_billed_since": None,
    "standby_billed_seconds": 0.0,
    "standby_closed_cost": 0.0,
}


def test_a_new_instance_with_failover_and_serverless_mode_holds_what_was_asked_and_their_defaults(
    cloud: Cloud, creating: Creating
) -> None:
    instance = creating.create(
        name="trainer",
        num_gpus=2,
        region="us-east",
        ssh_key=SSH_KEY,
        failover_enabled=True,
        failover_strategy=FailoverStrategy.CPU_STANDBY,
        auto_hibernate=True,
    )

    stored = cloud.stored(instance)
    assert stored == instance, "the instance answered is the one recorded"
    assert shown(stored) == {
        **ASKED_FOR,
        **NOTHING_RENTED_YET,
        "status": InstanceStatus.STARTING,
        "created_at": cloud.clock(),
        "updated_at": cloud.clock(),
        "failover_enabled": True,
        "failover_strategy": FailoverStrategy.CPU_STANDBY,
        "checkpoint_interval_minutes": 10.0,
        "auto_hibernate": True,
        "idle_timeout_minutes": 15.0,
        "idle_gpu_threshold": 5.0,
    }


def test_a_new_instance_without_failover_or_serverless_mode_has_none_of_their_settings(
    cloud: Cloud, creating: Creating
) -> None:
    instance = creating.create(failover_strategy=FailoverStrategy.WARMPOOL)

    stored = cloud.stored(instance)
    assert (stored.failover_enabled, stored.failover_strategy, stored.checkpoint_interval_minutes) == (
        False,
        None,
        None,
    ), "a strategy without failover on is not kept"
    assert (stored.auto_hibernate, stored.idle_timeout_minutes, stored.idle_gpu_threshold) == (
        False,
        None,
        None,
    )
    assert (stored.name, stored.num_gpus, stored.region, stored.requested_region) == (None, 1, None, None)
    assert stored.ssh_key is None and stored.ssh_keys == []
    assert creating.idle_watch.watched == [], "only serverless instances are watched for idleness"


def test_each_new_instance_has_an_id_of_its_own(creating: Creating) -> None:
    ids = [creating.create().instance_id for _ in range(3)]

    assert all(re.fullmatch(r"inst_[0-9a-f]{16}", instance_id) for instance_id in ids), ids
    assert len(set(ids)) == 3


def test_a_new_instance_may_be_logged_in_to_with_the_key_given_and_its_creator_s_account_keys(
    cloud: Cloud, creating: Creating
) -> None:
    creating.account_keys.add(PRINCIPAL, BOB, "bob")
    cloud.clock.advance(minutes=3)

    instance = creating.create(ssh_key=SSH_KEY)

    keys = cloud.stored(instance).ssh_keys
    assert [(key.name, key.public_key) for key in keys] == [("added at creation", SSH_KEY), ("bob", BOB)]
    assert keys[0].added_at == cloud.clock(), "the key given is added when the instance is created"
    assert keys[0].fingerprint.endswith("alice@laptop (ED25519)")


def test_creation_is_on_the_timeline_and_the_bus_and_starts_provisioning(
    cloud: Cloud, creating: Creating
) -> None:
    instance = creating.create(region="us-east", auto_hibernate=True)

    (created,) = cloud.published(instance)
    assert (created.type, created.account_id, created.team_id) == (EventType.CREATED, "acct_1", "team_1")
    assert created.details == {"gpu_type": "RTX_4090", "region": "us-east", "image": "pytorch/pytorch:latest"}
    assert cloud.repository.list_events(instance.instance_id) == [created]
    assert cloud.starter.started == [
        (
            Workflow.PROVISION,
            f"{instance.instance_id}-provision",
            {"instance": {"team_id": "team_1", "instance_id": instance.instance_id}},
        )
    ]
    assert creating.idle_watch.watched == [("team_1", instance.instance_id)]


def test_the_balance_must_pay_an_hour_of_the_machine_provisioning_would_rent(creating: Creating) -> None:
    instance = creating.create(region="us-east", num_gpus=2)

    assert creating.meter.asked == [("team_1", QUOTED_PRICE, "create an instance")]
    [quoted_for] = creating.quotes.asked
    assert (quoted_for.instance_id, quoted_for.requested_region, quoted_for.num_gpus) == (
        instance.instance_id,
        "us-east",
        2,
    )


def test_with_no_machine_to_quote_the_balance_is_checked_without_a_price(cloud: Cloud) -> None:
    creating = Creating(cloud, quoted=None)

    creating.create()

    assert creating.meter.asked == [("team_1", None, "create an instance")]


def test_an_instance_the_balance_does_not_pay_for_is_refused_before_anything_is_written(
    cloud: Cloud, creating: Creating
) -> None:
    creating.meter.refuses = True

    with pytest.raises(InsufficientBalance) as refused:
        creating.create(auto_hibernate=True)

    assert refused.value.http_status == 402
    assert "create an instance" in refused.value.message
    assert cloud.repository.list_for_team(PRINCIPAL.team_id) == []
    assert cloud.publisher.published == []
    assert cloud.starter.started == []
    assert creating.idle_watch.watched == []


def test_an_instance_whose_provisioning_cannot_start_fails_and_says_so(
    cloud: Cloud, creating: Creating, service_log: list[LogRecord]
) -> None:
    cloud.starter.fail_with = RuntimeError("Step Functions is unavailable")

    with pytest.raises(ServiceUnavailable) as refused:
        creating.create()

    assert refused.value.http_status == 503
    assert refused.value.message == "Provisioning could not be started; please try again"
    [instance] = cloud.repository.list_for_team(PRINCIPAL.team_id)
    assert (instance.status, instance.status_reason) == (
        InstanceStatus.FAILED,
        "provisioning could not be started",
    )
    created, failed = cloud.published(instance)
    assert created.type == EventType.CREATED
    assert (failed.type, failed.details) == (
        EventType.FAILED,
        {"reason": "provisioning could not be started"},
    )
    assert cloud.repository.list_events(instance.instance_id) == [created, failed]
    [logged] = service_log  # for the operators, with the instance it is about
    assert logged.getMessage() == "Could not start provisioning"
    assert logged.instance_id == instance.instance_id  # type: ignore[attr-defined]
    assert logged.exc_info is not None and "Step Functions is unavailable" in str(logged.exc_info[1])
