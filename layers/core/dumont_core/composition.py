"""The composition root: every service of every domain, made once per process from the environment's
settings, on first use, and replaceable in tests.

Handlers ask this module for services (`composition.instances()`), never build them. A test replaces
one with `overridden(instances=fake)`, or starts afresh after changing the environment with `reset()`.
Adding a domain adds its factory here. Each factory imports its domain itself: a request loads the
domains it uses and no others, which is most of a cold start.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, TypeVar

from dumont_core.platform.dynamodb import bind_table
from dumont_core.platform.providing import overridden as overridden
from dumont_core.platform.providing import provided
from dumont_core.platform.providing import reset as reset
from dumont_core.platform.settings import (
    AgentSettings,
    BillingSettings,
    GuessingSettings,
    InstanceLogSettings,
    ProviderSettings,
    SnapshotSettings,
    TableSettings,
    TokenSettings,
    UsagePlanSettings,
    WatchSettings,
    load_settings,
)

if TYPE_CHECKING:
    from dumont_core.access.admission import AdmissionRepository
    from dumont_core.access.attempts import AttemptRepository
    from dumont_core.access.repository import AccessRepository
    from dumont_core.access.seats import SeatMaker
    from dumont_core.access.service import AccessService
    from dumont_core.access.teams import TeamService
    from dumont_core.access.tokens import TokenSigner
    from dumont_core.agents.repository import ActionRepository
    from dumont_core.agents.service import AgentService
    from dumont_core.billing.meter import Meter
    from dumont_core.billing.repository import BillingRepository
    from dumont_core.billing.service import BillingService
    from dumont_core.failover.service import FailoverService
    from dumont_core.instances.metrics import MetricsRepository
    from dumont_core.instances.reconciler import MachineReconciler
    from dumont_core.instances.repository import InstanceRepository
    from dumont_core.instances.service import InstanceService
    from dumont_core.instances.steps import InstanceWorkflowSteps
    from dumont_core.platform.events import EventPublisher
    from dumont_core.platform.workflows import WorkflowStarter
    from dumont_core.providers.models import GpuProvider
    from dumont_core.savings.service import SavingsService
    from dumont_core.serverless.ledger import HibernationLedger
    from dumont_core.serverless.repository import ServerlessRepository
    from dumont_core.serverless.service import ServerlessService
    from dumont_core.snapshots.checkpoints import Checkpoints
    from dumont_core.snapshots.repository import SnapshotRepository
    from dumont_core.snapshots.service import SnapshotService
    from dumont_core.snapshots.steps import SnapshotSteps
    from dumont_core.snapshots.store import SnapshotStore

ServiceT = TypeVar("ServiceT")
ACTION_RETENTION = timedelta(days=7)
HIBERNATION_RECORD_RETENTION = timedelta(days=400)


def repository(factory: Callable[[], ServiceT]) -> Callable[[], ServiceT]:
    """A repository's factory: provided, and made only once the table is bound, whichever service asks
    first and whatever a test put in place of the others."""

    def make() -> ServiceT:
        table()
        return factory()

    make.__name__ = factory.__name__
    make.__doc__ = factory.__doc__
    return provided(make)


# platform


@provided
def table() -> TableSettings:
    """The table's settings, with every item type bound to the table."""
    settings = load_settings(TableSettings)
    bind_table(settings.table_name)
    return settings


@provided
def publisher() -> EventPublisher:
    from dumont_core.platform.events import EventBridgePublisher

    return EventBridgePublisher(table().event_bus_name)


@provided
def workflows() -> WorkflowStarter:
    from dumont_core.platform.workflows import StepFunctionsStarter

    return StepFunctionsStarter()


@provided
def gpu_provider() -> GpuProvider:
    from dumont_core.platform.secrets import read_secret
    from dumont_core.providers.vastai import VastAiProvider

    settings = load_settings(ProviderSettings)
    if settings.vast_api_key is not None:
        api_key = settings.vast_api_key.get_secret_value()
    elif settings.vast_api_key_secret_arn:
        api_key = read_secret(settings.vast_api_key_secret_arn)
    else:
        raise RuntimeError("Set VAST_API_KEY or VAST_API_KEY_SECRET_ARN to reach the GPU provider")
    return VastAiProvider(
        settings.vast_api_url,
        api_key,
        timeout_seconds=settings.provider_timeout_seconds,
        max_attempts=settings.provider_max_attempts,
        backoff_seconds=settings.provider_backoff_seconds,
    )


# instances


@repository
def instance_repository() -> InstanceRepository:
    from dumont_core.instances.repository import InstanceRepository

    return InstanceRepository(event_retention=timedelta(days=table().event_retention_days))


@repository
def metrics_repository() -> MetricsRepository:
    from dumont_core.instances.metrics import MetricsRepository

    return MetricsRepository(retention=timedelta(days=load_settings(AgentSettings).metric_retention_days))


@provided
def instances() -> InstanceService:
    from dumont_core.instances.service import InstanceService

    return InstanceService(
        repository=instance_repository(),
        readings=metrics_repository(),
        publisher=publisher(),
        workflows=workflows(),
        idle_watch=hibernation_ledger(),
        # Billing is loaded by the first request that rents: the authorizer and the agents never load it.
        meter=SimpleNamespace(ensure_covers=lambda *asked: meter().ensure_covers(*asked)),
    )


@provided
def instance_steps() -> InstanceWorkflowSteps:
    from dumont_core.instances.steps import InstanceWorkflowSteps

    return InstanceWorkflowSteps(
        instances=instances(),
        provider=gpu_provider(),
        settings=load_settings(ProviderSettings),
        hibernations=hibernation_ledger(),
    )


@provided
def reconciler() -> MachineReconciler:
    from dumont_core.instances.interruptions import InterruptionWatch
    from dumont_core.instances.reconciler import MachineReconciler

    watch = InterruptionWatch(
        instances=instances(),
        provider=gpu_provider(),
        heartbeat_seconds=load_settings(AgentSettings).agent_heartbeat_seconds,
        confirm_seconds=load_settings(WatchSettings).interruption_confirm_seconds,
        recovery=snapshots(),
    )
    return MachineReconciler(
        instances=instances(), provider=gpu_provider(), settings=load_settings(ProviderSettings), watch=watch
    )


# agents


@repository
def action_repository() -> ActionRepository:
    from dumont_core.agents.repository import ActionRepository

    return ActionRepository(retention=ACTION_RETENTION)


@provided
def agents() -> AgentService:
    from dumont_core.agents.logs import InstanceLogs
    from dumont_core.agents.service import AgentService

    return AgentService(
        instances=instances(),
        actions=action_repository(),
        logs=InstanceLogs(load_settings(InstanceLogSettings).instance_log_group),
        heartbeat_seconds=load_settings(AgentSettings).agent_heartbeat_seconds,
    )


# snapshots


@provided
def snapshot_store() -> SnapshotStore:
    from dumont_core.snapshots.store import SnapshotStore

    return SnapshotStore(load_settings(SnapshotSettings).snapshot_bucket)


@repository
def snapshot_repository() -> SnapshotRepository:
    from dumont_core.snapshots.repository import SnapshotRepository

    return SnapshotRepository()


@provided
def snapshots() -> SnapshotService:
    from dumont_core.snapshots.service import SnapshotService

    return SnapshotService(
        instances=instances(), snapshots=snapshot_repository(), store=snapshot_store(), workflows=workflows()
    )


@provided
def checkpoints() -> Checkpoints:
    from dumont_core.snapshots.checkpoints import Checkpoints

    return Checkpoints(instances=instances(), snapshots=snapshots())


@provided
def snapshot_steps() -> SnapshotSteps:
    from dumont_core.snapshots.steps import SnapshotSteps

    return SnapshotSteps(instances=instances(), snapshots=snapshot_repository(), store=snapshot_store())


# serverless


@repository
def serverless_repository() -> ServerlessRepository:
    from dumont_core.serverless.repository import ServerlessRepository

    return ServerlessRepository(record_retention=HIBERNATION_RECORD_RETENTION)


@provided
def hibernation_ledger() -> HibernationLedger:
    from dumont_core.serverless.ledger import HibernationLedger

    return HibernationLedger(repository=serverless_repository())


@provided
def serverless() -> ServerlessService:
    from dumont_core.serverless.service import ServerlessService

    return ServerlessService(
        instances=instances(),
        snapshots=snapshots(),
        repository=serverless_repository(),
        heartbeat_seconds=load_settings(AgentSettings).agent_heartbeat_seconds,
    )


# failover


@provided
def failover() -> FailoverService:
    from dumont_core.failover.service import FailoverService

    return FailoverService(instances=instances(), recovery=snapshots())


# access


def token_signer() -> TokenSigner:
    """Made for each token signed or verified: the secret is re-read once its cache expires, so a rotated
    one is picked up without a redeploy."""
    from dumont_core.access.tokens import TokenSigner
    from dumont_core.platform.secrets import read_secret

    settings = load_settings(TokenSettings)
    return TokenSigner(
        read_secret(settings.jwt_secret_arn), lifetime=timedelta(minutes=settings.access_token_minutes)
    )


@provided
def seat_maker() -> SeatMaker:
    from dumont_core.access.seats import SeatMaker
    from dumont_core.access.usage_keys import ApiGatewayUsageKeys

    return SeatMaker(usage_keys=ApiGatewayUsageKeys(load_settings(UsagePlanSettings).usage_plan_ids))


@repository
def access_repository() -> AccessRepository:
    from dumont_core.access.repository import AccessRepository

    return AccessRepository()


@repository
def admission_repository() -> AdmissionRepository:
    from dumont_core.access.admission import AdmissionRepository

    return AdmissionRepository()


@repository
def attempt_repository() -> AttemptRepository:
    from dumont_core.access.attempts import AttemptRepository

    return AttemptRepository()


@provided
def access() -> AccessService:
    from dumont_core.access.attempts import GuessingLimits
    from dumont_core.access.service import AccessService

    return AccessService(
        repository=access_repository(),
        admission=admission_repository(),
        seats=seat_maker(),
        signer=token_signer,
        attempts=attempt_repository(),
        limits=GuessingLimits.of(load_settings(GuessingSettings)),
        # Billing hears of each sign-up, and is loaded only then: the authorizer and logins never load it.
        welcome=SimpleNamespace(welcome=lambda account_id, team_id: meter().welcome(account_id, team_id)),
    )


@provided
def teams() -> TeamService:
    from dumont_core.access.teams import TeamService

    return TeamService(repository=access_repository(), seats=seat_maker())


# billing


@repository
def billing_repository() -> BillingRepository:
    from dumont_core.billing.repository import BillingRepository

    return BillingRepository()


@provided
def meter() -> Meter:
    from dumont_core.billing.meter import Meter

    return Meter.of(load_settings(BillingSettings), repository=billing_repository(), publisher=publisher())


@provided
def billing() -> BillingService:
    from dumont_core.billing.payments import payments_from
    from dumont_core.billing.service import BillingService
    from dumont_core.platform.secrets import read_secret

    return BillingService(
        repository=billing_repository(),
        meter=meter(),
        instances=instances(),
        payments=payments_from(load_settings(BillingSettings), read_secret),
        hibernator=snapshots(),
        teams=teams(),
    )


@provided
def savings() -> SavingsService:
    from dumont_core.savings.service import SavingsService

    return SavingsService(billing=billing(), instances=instances(), hibernations=serverless())
