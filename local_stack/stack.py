"""The whole local stack: embedded AWS, the local GPU marketplace, and the API front."""

from __future__ import annotations

import secrets
import time
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dumont_core import composition
from dumont_core.platform.identity import Principal
from dumont_core.platform.settings import WebhookSettings
from dumont_core.webhooks.retries import Backoff, receive_limit
from infra.topology import FUNCTIONS, HOUSEKEEPING_FUNCTION, PRICE_COLLECTOR_FUNCTION, RECONCILER_FUNCTION
from local_stack.cpu_standbys import CpuStandbyAgents
from local_stack.embedded_aws import ACCOUNT_ID, REGION, STACK_PREFIX, Deployment, EmbeddedAws
from local_stack.front import (
    ApiFront,
    api_function_name,
    authorizer_function_name,
    live_metrics_function_name,
)
from local_stack.machine_agents import MachineAgents
from local_stack.market_history import MarketHistory
from local_stack.marketplace import LocalMarketplace
from local_stack.marketplace.server import LOCAL_API_KEY
from local_stack.queue_consumers import QueueConsumer
from local_stack.schedules import Schedule, invoking


@dataclass(frozen=True)
class RealVast:
    """The real Vast.ai in place of the local marketplace: machines are rented, and paid for."""

    api_key: str
    max_price_per_hour: float
    """No machine dearer than this (USD an hour) is rented."""
    url: str = "https://console.vast.ai"


@dataclass(frozen=True)
class LocalStackConfig:
    host: str = "127.0.0.1"
    port: int = 8766
    marketplace_port: int = 0
    aws_port: int = 0
    boot_seconds: tuple[float, float] = (3.0, 8.0)
    action_seconds: tuple[float, float] = (1.0, 3.0)
    poll_seconds: int = 1
    boot_timeout_seconds: int = 120
    seed: int | None = None
    log_level: str = "WARNING"
    agent_heartbeat_seconds: int = 5
    """How often the simulated machines' agents report; real machines report every 60 s."""
    agent_action_timeout_seconds: int = 600
    gpu_utilization: float = 0.0
    """The simulated GPUs' load until a test or the demo sets another."""
    interruptions_per_hour: float = 0.0
    """How often, on average, the marketplace interrupts each running machine on its own (outbid, host
    offline, network partition, maintenance); 0 for never. `/_sim/interruptions` changes it."""
    provider_error_rate: float = 0.0
    """The fraction of the marketplace API's calls answered 5xx at random; `/_sim/faults` changes it."""
    heartbeat_drop_rate: float = 0.0
    """The fraction of the agents' heartbeat requests the machines' network loses at random."""
    fault_seed: int = 0
    """Seeds the random faults above: the same draws every run."""
    housekeeping_seconds: float = 5.0
    """How often the serverless idle check runs (every minute in AWS), so a demo window can be seconds."""
    reconciler_seconds: float = 5.0
    """How often the reconciler looks for dead and orphaned machines (a minute's passes in AWS)."""
    interruption_confirm_seconds: float = 5.0
    """How long a machine must go on looking dead before its instance is interrupted (20 s in AWS)."""
    trial_credit_usd: float = 25.0
    """What a new sign-up's team starts with here (nothing in AWS unless configured)."""
    price_collection_seconds: float = 10.0
    """How often prices are collected (every 5 minutes in AWS)."""
    market_history_days: float = 7.0
    """How much price history is made when the stack starts, from the marketplace's prices as they were:
    hourly, and every 15 minutes over the last six hours. It is made in the background, in about a
    minute for a week; the price collection schedule starts when it is done."""
    expiry_seconds: float = 60.0
    """How often items whose TTL has passed are deleted, which DynamoDB does by itself and moto never."""
    metric_retention_days: int = 1
    """How long heartbeat samples are kept (35 days in AWS): agents here report every few seconds, so a
    stack left running for days holds a day of them at most."""
    real_vast: RealVast | None = None
    """Rent from the real Vast.ai instead of the local marketplace (which still starts, unused)."""
    webhook_allow_loopback: bool = True
    """Webhooks may be sent to this machine (127.0.0.1, ::1), so a developer receives them on localhost;
    never in AWS. Private and link-local addresses stay refused either way."""
    webhook_retry_base_seconds: float = 1.0
    """The wait after a webhook delivery's first failure (30 s in AWS); it doubles with each failure."""
    webhook_retry_max_seconds: float = 8.0
    """The longest wait between a delivery's attempts (an hour in AWS)."""
    login_failures_per_address: int | None = None
    registrations_per_address: int | None = None
    demo_requests_per_address: int | None = None
    """Limits per source address; None keeps AWS's defaults. A test suite whose every client shares one
    address raises them."""


FAST_STACK = LocalStackConfig(
    port=0,
    boot_seconds=(0.3, 0.8),
    action_seconds=(0.2, 0.5),
    agent_heartbeat_seconds=1,
    webhook_retry_max_seconds=2.0,
    price_collection_seconds=30.0,
    market_history_days=1.5,
)
"""For the e2e tests and the benchmarks: a free port, machines that boot and carry out actions in under
a second, agents that report every second, and a day and a half of price history. `dataclasses.replace`
it for a seed and the rest."""


BOOTSTRAP_EMAIL = "admin@dumont.local"


@dataclass(frozen=True)
class BootstrapAccount:
    email: str
    password: str
    api_key: str


def create_bootstrap_account() -> BootstrapAccount:
    """An account to start with, made through the same service that registers users."""
    access = composition.access()
    password = secrets.token_urlsafe(12)
    # On the largest plan, so a developer's own scripts are not throttled (sign-ups get the free plan),
    # and the deployment's operator, who may grant credits to any team.
    account = access.register(BOOTSTRAP_EMAIL, password, plan="enterprise", operator=True)
    owner = Principal(account_id=account.account_id, team_id=account.team_id)
    created = access.create_api_key(owner, "bootstrap")
    return BootstrapAccount(email=BOOTSTRAP_EMAIL, password=password, api_key=created.key)


def _provider_environment(config: LocalStackConfig, marketplace: LocalMarketplace) -> dict[str, str]:
    """Where the functions rent: the local marketplace, or the real Vast.ai under a price cap."""
    real = config.real_vast
    if real is None:
        return {"VAST_API_URL": marketplace.url, "VAST_API_KEY": marketplace.api_key}
    return {
        "VAST_API_URL": real.url,
        "VAST_API_KEY": real.api_key,
        "MAX_PRICE_PER_HOUR": str(real.max_price_per_hour),
        # A real machine boots in minutes, not seconds.
        "BOOT_TIMEOUT_SECONDS": "900",
        "POWER_ACTION_TIMEOUT_SECONDS": "600",
    }


def _webhook_max_receives(config: LocalStackConfig) -> int:
    backoff = Backoff(config.webhook_retry_base_seconds, config.webhook_retry_max_seconds)
    return receive_limit(
        backoff, timedelta(hours=WebhookSettings.model_fields["webhook_give_up_hours"].default)
    )


def _webhook_environment(config: LocalStackConfig) -> dict[str, str]:
    return {
        "WEBHOOK_ALLOW_HTTP": "true",
        "WEBHOOK_ALLOW_LOOPBACK": str(config.webhook_allow_loopback).lower(),
        "WEBHOOK_RETRY_BASE_SECONDS": str(config.webhook_retry_base_seconds),
        "WEBHOOK_RETRY_MAX_SECONDS": str(config.webhook_retry_max_seconds),
        # The queue's receives run out long before a day of waits this short: the sender gives up then.
        "WEBHOOK_DELIVERY_MAX_RECEIVES": str(_webhook_max_receives(config)),
    }


def _address_limits(config: LocalStackConfig) -> dict[str, str]:
    limits = {
        "LOGIN_FAILURES_PER_ADDRESS": config.login_failures_per_address,
        "REGISTRATIONS_PER_ADDRESS": config.registrations_per_address,
        "DEMO_REQUESTS_PER_ADDRESS": config.demo_requests_per_address,
    }
    return {name: str(value) for name, value in limits.items() if value is not None}


class LocalStack:
    def __init__(self, config: LocalStackConfig | None = None) -> None:
        self.config = config or LocalStackConfig()
        self.aws = EmbeddedAws(self.config.host, self.config.aws_port)
        self.marketplace = LocalMarketplace(
            self.config.host,
            self.config.marketplace_port,
            api_key=LOCAL_API_KEY,
            seed=self.config.seed,
            boot_seconds=self.config.boot_seconds,
            action_seconds=self.config.action_seconds,
            interruptions_per_hour=self.config.interruptions_per_hour,
        )
        self.deployment: Deployment | None = None
        self.bootstrap: BootstrapAccount | None = None
        self.front: ApiFront | None = None
        self.marketplace.set_provider_error_rate(self.config.provider_error_rate, self.config.fault_seed)
        self.machine_agents = MachineAgents(
            self.marketplace,
            gpu_utilization=self.config.gpu_utilization,
            heartbeat_drop_rate=self.config.heartbeat_drop_rate,
            fault_seed=self.config.fault_seed,
        )
        self.marketplace.machine_runtime = self.machine_agents
        self.cpu_standbys: CpuStandbyAgents | None = None
        """The agents of the EC2 machines kept as CPU standbys, once AWS runs."""
        self.housekeeping: Schedule | None = None
        self.reconciler: Schedule | None = None
        self.expiry: Schedule | None = None
        self.queue_consumers: list[QueueConsumer] = []
        self.price_collection: Schedule | None = None
        self.market_history: MarketHistory | None = None

    @property
    def url(self) -> str:
        assert self.front is not None, "start() first"
        return self.front.url

    @property
    def api_key(self) -> str:
        assert self.bootstrap is not None, "start() first"
        return self.bootstrap.api_key

    def start(self) -> LocalStack:
        # Read-only requests publish no business metric, which Powertools warns about each time.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        self.aws.start()
        self.marketplace.start()
        config = self.config
        # The front listens before the deployment: the agents of rented machines are told its URL.
        self.front = ApiFront(
            self.aws.runtime.invoke,
            function_name=api_function_name(STACK_PREFIX),
            authorizer_name=authorizer_function_name(STACK_PREFIX),
            live_metrics_name=live_metrics_function_name(STACK_PREFIX),
            api_id="",
            account_id=ACCOUNT_ID,
            region=REGION,
            host=config.host,
            port=config.port,
        )
        self.deployment = self.aws.deploy(
            {
                "PUBLIC_API_URL": self.front.url,
                # Heartbeats are pushed through the Management API the front serves, as API Gateway's.
                "LIVE_METRICS_ENDPOINT": self.front.url,
                "AGENT_HEARTBEAT_SECONDS": str(config.agent_heartbeat_seconds),
                "METRIC_RETENTION_DAYS": str(config.metric_retention_days),
                # One pass per tick here: the local schedule ticks every few seconds already.
                "WATCH_POLLS": "1",
                "INTERRUPTION_CONFIRM_SECONDS": str(config.interruption_confirm_seconds),
                "SILENCE_CONFIRM_SECONDS": str(config.interruption_confirm_seconds),
                "AGENT_ACTION_TIMEOUT_SECONDS": str(config.agent_action_timeout_seconds),
                "BOOT_POLL_SECONDS": str(config.poll_seconds),
                "BOOT_TIMEOUT_SECONDS": str(config.boot_timeout_seconds),
                "POWER_ACTION_TIMEOUT_SECONDS": str(config.boot_timeout_seconds),
                **_provider_environment(config, self.marketplace),
                "ESTIMATED_READY_SECONDS": str(int(config.boot_seconds[1]) + config.poll_seconds * 2),
                "PROVIDER_BACKOFF_SECONDS": "0.2",
                # Enough for the README's walk-through; a deployment gives none unless it says so.
                "TRIAL_CREDIT_USD": str(config.trial_credit_usd),
                # No payment provider here: credits asked for are confirmed at once.
                "INSTANT_PAYMENTS": "true",
                "POWERTOOLS_LOG_LEVEL": config.log_level,
                "POWERTOOLS_METRICS_DISABLED": "true",
                **_webhook_environment(config),
                **_address_limits(config),
            },
            webhook_max_receives=_webhook_max_receives(config),
        )
        # The functions read their settings from the environment just deployed, as on a first cold start.
        composition.reset()
        self.bootstrap = create_bootstrap_account()
        self.front.api_id = self.deployment.api_id
        self.front.start()
        self.machine_agents.start()
        self.cpu_standbys = CpuStandbyAgents(self.aws.client("ec2")).start()
        invoke = self.aws.runtime.invoke
        self.housekeeping = invoking(
            invoke, f"{STACK_PREFIX}{HOUSEKEEPING_FUNCTION.name}", config.housekeeping_seconds
        ).start()
        self.reconciler = invoking(
            invoke, f"{STACK_PREFIX}{RECONCILER_FUNCTION.name}", config.reconciler_seconds
        ).start()
        self.expiry = Schedule("expiry", self.aws.delete_expired_items, config.expiry_seconds).start()
        self.queue_consumers = [
            QueueConsumer(
                self.aws.client("sqs"),
                *self.aws.queue(spec.consumes_queue),
                invoke,
                f"{STACK_PREFIX}{spec.name}",
                REGION,
            ).start()
            for spec in FUNCTIONS
            if spec.consumes_queue is not None
        ]
        self.price_collection = invoking(
            invoke, f"{STACK_PREFIX}{PRICE_COLLECTOR_FUNCTION.name}", config.price_collection_seconds
        )
        # The schedule starts once the history is made: the hours it rolls up come after the history's.
        self.market_history = MarketHistory(self.marketplace, config.market_history_days).start(
            then=self.price_collection.start
        )
        return self

    def stop(self, timeout: float = 40) -> None:
        """Stop everything, waiting up to `timeout` s in all for what is still running to finish.

        What calls the API stops first (the schedules, the agents), then the API, the marketplace and AWS.
        Whatever is still running at the end (a workflow waiting for an agent, say) runs in daemon
        threads, which end with the process."""
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        if self.market_history is not None:
            self.market_history.stop(left())
        for schedule in (self.housekeeping, self.reconciler, self.expiry, self.price_collection):
            if schedule is not None:
                schedule.stop(left())
        for consumer in self.queue_consumers:
            consumer.stop(left())
        self.machine_agents.stop(left())
        if self.cpu_standbys is not None:
            self.cpu_standbys.stop(left())
        if self.front is not None:
            self.front.stop(left())
        self.marketplace.stop(left())
        self.aws.stop(left())

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
