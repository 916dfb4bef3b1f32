"""The composition root: every service of every domain, made once per process from the environment's
settings, on first use, and replaceable in tests.

Handlers ask this package for services (`composition.instances()`), never build them. A test replaces
one with `overridden(instances=fake)`, or starts afresh after changing the environment with `reset()`.
Adding a domain adds its factories in a module of this package (`access`, `billing`, `failover`,
`market`, …), re-exported here; the platform's and the oldest domains' factories are still here.
Each factory imports its domain itself: a request loads the domains it uses and no others, which is
most of a cold start.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING

from dumont_core.composition.access import (
    access,
    access_repository,
    admission_repository,
    attempt_repository,
    seat_maker,
    teams,
    token_signer,
)
from dumont_core.composition.billing import billing, billing_repository, meter, savings
from dumont_core.composition.demo import demo
from dumont_core.composition.failover import (
    cpu_failover_steps,
    cpu_machines,
    cpu_standby,
    failover,
    failover_recovery,
    warmpool_steps,
)
from dumont_core.composition.live import (
    connection_repository,
    instance_watchers,
    live_metrics,
    live_publisher,
)
from dumont_core.composition.market import (
    gpu_advisor,
    market,
    market_repository,
    offer_book,
    price_collector,
    uptime_repository,
    uptimes,
)
from dumont_core.composition.providing import overridden, provided, repository, reset, table
from dumont_core.composition.webhooks import delivery_queue, delivery_sender, webhook_repository, webhooks
from dumont_core.platform.settings import (
    AgentSettings,
    BillingSettings,
    InstanceLogSettings,
    ProviderSettings,
    SnapshotSettings,
    WatchSettings,
    load_settings,
)

if TYPE_CHECKING:
    from dumont_core.agents.repository import ActionRepository
    from dumont_core.agents.service import AgentService
    from dumont_core.agents.ssh_keys import SshKeyService
    from dumont_core.instances.account_keys import AccountKeyRepository, AccountKeyService
    from dumont_core.instances.metrics import MetricsRepository
    from dumont_core.instances.quotes import OfferQuotes
    from dumont_core.instances.reconciler import MachineReconciler
    from dumont_core.instances.repository import InstanceRepository
    from dumont_core.instances.service import InstanceService
    from dumont_core.instances.steps import InstanceWorkflowSteps
    from dumont_core.platform.events import EventPublisher
    from dumont_core.platform.workflows import WorkflowStarter
    from dumont_core.providers.models import GpuProvider
    from dumont_core.serverless.ledger import HibernationLedger
    from dumont_core.serverless.repository import ServerlessRepository
    from dumont_core.serverless.service import ServerlessService
    from dumont_core.snapshots.checkpoints import Checkpoints
    from dumont_core.snapshots.repository import SnapshotRepository
    from dumont_core.snapshots.service import SnapshotService
    from dumont_core.snapshots.steps import SnapshotSteps
    from dumont_core.snapshots.store import SnapshotStore

ACTION_RETENTION = timedelta(days=7)
HIBERNATION_RECORD_RETENTION = timedelta(days=400)

# Made in the modules of this package, served from here like the factories below.
__all__ = [
    "access",
    "access_repository",
    "admission_repository",
    "attempt_repository",
    "billing",
    "billing_repository",
    "connection_repository",
    "cpu_failover_steps",
    "cpu_machines",
    "cpu_standby",
    "delivery_queue",
    "delivery_sender",
    "demo",
    "failover",
    "failover_recovery",
    "gpu_advisor",
    "instance_watchers",
    "live_metrics",
    "live_publisher",
    "market",
    "market_repository",
    "meter",
    "offer_book",
    "overridden",
    "price_collector",
    "provided",
    "repository",
    "reset",
    "savings",
    "seat_maker",
    "table",
    "teams",
    "token_signer",
    "uptime_repository",
    "uptimes",
    "warmpool_steps",
    "webhook_repository",
    "webhooks",
]


# platform


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
        # The provider is reached only when a new machine is priced: reads and agents never reach it.
        quotes=SimpleNamespace(hourly_price=lambda instance: offer_quotes().hourly_price(instance)),
        uptime=uptimes(),
        account_keys=account_keys(),
    )


@provided
def offer_quotes() -> OfferQuotes:
    from dumont_core.instances.quotes import OfferQuotes

    return OfferQuotes(provider=gpu_provider(), settings=load_settings(ProviderSettings))


@provided
def instance_steps() -> InstanceWorkflowSteps:
    from dumont_core.instances.steps import InstanceWorkflowSteps

    return InstanceWorkflowSteps(
        instances=instances(),
        provider=gpu_provider(),
        settings=load_settings(ProviderSettings),
        hibernations=hibernation_ledger(),
        margin=load_settings(BillingSettings).platform_margin,
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
        silence_confirm_seconds=load_settings(WatchSettings).silence_confirm_seconds,
        recovery=failover_recovery(),
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
        listened_heartbeat_seconds=load_settings(AgentSettings).listened_heartbeat_seconds,
        # Loaded by the first heartbeat: the other routes of the agents never load live metrics.
        listener=SimpleNamespace(heard=lambda *heard: live_metrics().publish(*heard)),
    )


@provided
def ssh_keys() -> SshKeyService:
    from dumont_core.agents.ssh_keys import SshKeyService

    return SshKeyService(instances=instances(), agents=agents())


@repository
def account_key_repository() -> AccountKeyRepository:
    from dumont_core.instances.account_keys import AccountKeyRepository

    return AccountKeyRepository()


@provided
def account_keys() -> AccountKeyService:
    from dumont_core.instances.account_keys import AccountKeyService

    return AccountKeyService(repository=account_key_repository())


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
