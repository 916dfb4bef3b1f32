"""Configuration from environment variables, validated once per function, at cold start.

Each function has a settings model made of the groups of settings it uses (`ApiSettings`,
`AuthorizerSettings`, …); its handler loads that model when it is imported, so a missing or malformed
variable stops the function before its first request, with a message naming the variable. Services
load the narrower group they need (`WorkflowSettings`, say) from the same environment.

Plain pydantic models validated from `os.environ`, not pydantic-settings: importing that costs a cold
start more than everything it would do for us here.
"""

from __future__ import annotations

from pydantic import Field, Json, SecretStr

from dumont_core.platform.settings_loading import (
    EnvironmentSettings,
    SettingsError,
    forget_settings,
    load_settings,
    settings_from,
)

# Served from here with the models, so a handler imports its settings from one module.
__all__ = ["EnvironmentSettings", "SettingsError", "forget_settings", "load_settings", "settings_from"]

# Secrets read from Secrets Manager are trusted this long: a rotated one is picked up without a redeploy.
SECRET_CACHE_SECONDS = 300
DEFAULT_VAST_API_URL = "https://console.vast.ai"
DEFAULT_AGENT_PACKAGE = "dumont-agent"
DEFAULT_INSTANCE_LOG_GROUP = "/dumont/instances"
DEFAULT_MACHINE_LABEL_PREFIX = "dumont"


class TableSettings(EnvironmentSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1, description="The single DynamoDB table")
    event_bus_name: str = Field(default="dumont", alias="EVENT_BUS_NAME")
    event_retention_days: int = Field(default=90, ge=1, alias="EVENT_RETENTION_DAYS")


class WorkflowSettings(EnvironmentSettings):
    """The state machines that carry out changes of instances, and how they poll."""

    provision_state_machine_arn: str = Field(alias="PROVISION_STATE_MACHINE_ARN", min_length=1)
    start_state_machine_arn: str = Field(alias="START_STATE_MACHINE_ARN", min_length=1)
    stop_state_machine_arn: str = Field(alias="STOP_STATE_MACHINE_ARN", min_length=1)
    reboot_state_machine_arn: str = Field(alias="REBOOT_STATE_MACHINE_ARN", min_length=1)
    destroy_state_machine_arn: str = Field(alias="DESTROY_STATE_MACHINE_ARN", min_length=1)
    snapshot_state_machine_arn: str = Field(alias="SNAPSHOT_STATE_MACHINE_ARN", min_length=1)
    restore_state_machine_arn: str = Field(alias="RESTORE_STATE_MACHINE_ARN", min_length=1)
    wake_state_machine_arn: str = Field(alias="WAKE_STATE_MACHINE_ARN", min_length=1)
    cpu_failover_state_machine_arn: str = Field(alias="CPU_FAILOVER_STATE_MACHINE_ARN", min_length=1)
    warmpool_standby_state_machine_arn: str = Field(alias="WARMPOOL_STANDBY_STATE_MACHINE_ARN", min_length=1)
    warmpool_failover_state_machine_arn: str = Field(
        alias="WARMPOOL_FAILOVER_STATE_MACHINE_ARN", min_length=1
    )
    boot_poll_seconds: int = Field(default=10, ge=1, alias="BOOT_POLL_SECONDS")
    agent_action_timeout_seconds: int = Field(default=3600, ge=10, alias="AGENT_ACTION_TIMEOUT_SECONDS")
    estimated_ready_seconds: int = Field(default=90, ge=0, alias="ESTIMATED_READY_SECONDS")


class ProviderSettings(EnvironmentSettings):
    """How the instance workflows rent machines."""

    vast_api_url: str = Field(default=DEFAULT_VAST_API_URL, alias="VAST_API_URL")
    vast_api_key: SecretStr | None = Field(default=None, alias="VAST_API_KEY")
    """Given directly only on the local stack; in AWS the key is read from Secrets Manager."""
    vast_api_key_secret_arn: str | None = Field(default=None, alias="VAST_API_KEY_SECRET_ARN")
    provider_timeout_seconds: float = Field(default=20.0, gt=0, alias="PROVIDER_TIMEOUT_SECONDS")
    provider_max_attempts: int = Field(default=4, ge=1, le=10, alias="PROVIDER_MAX_ATTEMPTS")
    provider_backoff_seconds: float = Field(default=1.0, ge=0, alias="PROVIDER_BACKOFF_SECONDS")
    min_host_reliability: float = Field(default=0.9, ge=0, le=1, alias="MIN_HOST_RELIABILITY")
    spot_bid_margin: float = Field(default=0.1, ge=0, le=5, alias="SPOT_BID_MARGIN")
    """We rent interruptible machines, bidding this fraction above the host's minimum bid."""
    offers_to_try: int = Field(default=5, ge=1, le=50, alias="OFFERS_TO_TRY")
    max_price_per_hour: float | None = Field(default=None, gt=0, alias="MAX_PRICE_PER_HOUR")
    """No machine dearer than this (USD an hour, disk included) is rented; None for no cap."""
    min_direct_ports: int = Field(default=2, ge=0, le=100, alias="MIN_DIRECT_PORTS")
    """Hosts with this many open ports are preferred (SSH and Jupyter without the provider's proxy); 0
    takes any host, reached through the proxy when it has none."""
    boot_timeout_seconds: int = Field(default=900, ge=1, alias="BOOT_TIMEOUT_SECONDS")
    power_action_timeout_seconds: int = Field(default=600, ge=1, alias="POWER_ACTION_TIMEOUT_SECONDS")
    public_api_url: str | None = Field(default=None, alias="PUBLIC_API_URL")
    """Where the agents on rented machines reach the API; no agent is installed when unset."""
    agent_package: str = Field(default=DEFAULT_AGENT_PACKAGE, alias="AGENT_PACKAGE")
    """What a machine's first boot installs with pip: a requirement or the URL of the agent's wheel."""
    machine_label_prefix: str = Field(
        default=DEFAULT_MACHINE_LABEL_PREFIX, pattern=r"^[a-z][a-z0-9-]{0,31}$", alias="MACHINE_LABEL_PREFIX"
    )
    """Names this deployment in the labels of the machines it rents; two deployments renting with
    one provider account need different ones, or each would destroy the other's machines."""


class CpuStandbySettings(EnvironmentSettings):
    """The CPU machines (EC2) kept for the `cpu_standby` failover strategy. Without an AMI and a subnet
    the strategy cannot keep a standby, and its instances fail over from their last checkpoint."""

    cpu_standby_instance_type: str = Field(
        default="m7i.large", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", alias="CPU_STANDBY_INSTANCE_TYPE"
    )
    cpu_standby_ami_id: str | None = Field(
        default=None, pattern=r"^ami-[0-9a-f]{8,17}$", alias="CPU_STANDBY_AMI_ID"
    )
    """A Linux image with Python 3.11+ and systemd (Ubuntu 24.04, say)."""
    cpu_standby_subnet_id: str | None = Field(
        default=None, pattern=r"^subnet-[0-9a-f]{8,17}$", alias="CPU_STANDBY_SUBNET_ID"
    )
    """A public subnet: users reach the machine over SSH, its agent reaches the API."""
    cpu_standby_security_group_id: str | None = Field(
        default=None, pattern=r"^sg-[0-9a-f]{8,17}$", alias="CPU_STANDBY_SECURITY_GROUP_ID"
    )
    """Lets SSH (22) in; the default group of the subnet's VPC when unset."""
    cpu_standby_cost_per_hour: float = Field(default=0.1008, ge=0, alias="CPU_STANDBY_COST_PER_HOUR")
    """What the machine costs an hour while it runs (m7i.large on demand in us-east-1)."""
    cpu_standby_disk_price_per_gb_month: float = Field(
        default=0.08, ge=0, alias="CPU_STANDBY_DISK_PRICE_PER_GB_MONTH"
    )
    """What its disk (gp3, as large as the instance's) costs: all it costs while stopped between syncs."""
    cpu_standby_boot_timeout_seconds: int = Field(default=180, ge=1, alias="CPU_STANDBY_BOOT_TIMEOUT_SECONDS")

    @property
    def configured(self) -> bool:
        return self.cpu_standby_ami_id is not None and self.cpu_standby_subnet_id is not None


class AgentSettings(EnvironmentSettings):
    """How the agents on our machines report."""

    agent_heartbeat_seconds: int = Field(default=60, ge=1, le=3600, alias="AGENT_HEARTBEAT_SECONDS")
    listened_heartbeat_seconds: int = Field(default=5, ge=1, le=3600, alias="LISTENED_HEARTBEAT_SECONDS")
    """The interval of an agent whose silence must be noticed in seconds (its instance has failover on)
    or that a workflow waits on (its instance is starting or waking): `instances/heartbeats.py`."""
    metric_retention_days: int = Field(default=35, ge=1, alias="METRIC_RETENTION_DAYS")
    """Long enough for the 30-day chart."""


class InstanceLogSettings(EnvironmentSettings):
    instance_log_group: str = Field(default=DEFAULT_INSTANCE_LOG_GROUP, alias="INSTANCE_LOG_GROUP")
    """CloudWatch Logs group of the machines' logs; one stream per instance."""


class SnapshotSettings(EnvironmentSettings):
    snapshot_bucket: str = Field(
        alias="SNAPSHOT_BUCKET",
        min_length=1,
        description="The bucket of workspace snapshots: chunks, manifests",
    )


class TokenSettings(EnvironmentSettings):
    jwt_secret_arn: str = Field(
        alias="JWT_SECRET_ARN",
        min_length=1,
        description="The Secrets Manager secret that signs access tokens",
    )
    access_token_minutes: int = Field(default=60, ge=5, le=24 * 60, alias="ACCESS_TOKEN_MINUTES")


class GuessingSettings(EnvironmentSettings):
    """How many failed logins and registrations may come before a caller is told to wait (429)."""

    login_failures_per_account: int = Field(default=10, ge=1, alias="LOGIN_FAILURES_PER_ACCOUNT")
    login_failures_per_address: int = Field(default=30, ge=1, alias="LOGIN_FAILURES_PER_ADDRESS")
    """Higher than per account: many people can share an address behind one NAT."""
    login_failure_window_seconds: int = Field(default=900, ge=1, alias="LOGIN_FAILURE_WINDOW_SECONDS")
    registrations_per_address: int = Field(default=10, ge=1, alias="REGISTRATIONS_PER_ADDRESS")
    registration_window_seconds: int = Field(default=3600, ge=1, alias="REGISTRATION_WINDOW_SECONDS")
    demo_requests_per_address: int = Field(default=30, ge=1, alias="DEMO_REQUESTS_PER_ADDRESS")
    """Demo mode (`?demo=true`) without credentials: requests an address may make per window."""
    demo_window_seconds: int = Field(default=60, ge=1, alias="DEMO_WINDOW_SECONDS")


class UsagePlanSettings(EnvironmentSettings):
    usage_plan_ids: Json[dict[str, str]] = Field(default_factory=dict, alias="USAGE_PLAN_IDS")
    """Plan name -> API Gateway usage plan id (JSON). Each team member gets an API Gateway key in their
    plan's usage plan, which the authorizer names, so API Gateway throttles each member on their own."""


class PresentationSettings(EnvironmentSettings):
    jupyter_domain: str | None = Field(default=None, alias="JUPYTER_DOMAIN")
    """When set, Jupyter is published as `https://{instance_id}.{domain}:8888`; else the host's port."""


class WebhookSettings(EnvironmentSettings):
    """Where webhook deliveries are queued, which receivers may be reached, and how failures are retried."""

    webhook_delivery_queue_url: str = Field(
        alias="WEBHOOK_DELIVERY_QUEUE_URL",
        min_length=1,
        description="The queue of webhook deliveries to send",
    )
    webhook_allow_http: bool = Field(default=False, alias="WEBHOOK_ALLOW_HTTP")
    """Receivers may be plain http URLs; only https in AWS."""
    webhook_allow_loopback: bool = Field(default=False, alias="WEBHOOK_ALLOW_LOOPBACK")
    """Receivers may be on this machine (127.0.0.1, ::1): the local stack's default, never AWS's."""
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=30, alias="WEBHOOK_TIMEOUT_SECONDS")
    webhook_retry_base_seconds: float = Field(default=30.0, gt=0, alias="WEBHOOK_RETRY_BASE_SECONDS")
    """The wait after a delivery's first failure; it doubles with each failure after it."""
    webhook_retry_max_seconds: float = Field(
        default=3600.0, gt=0, le=43200, alias="WEBHOOK_RETRY_MAX_SECONDS"
    )
    webhook_give_up_hours: float = Field(default=24.0, gt=0, alias="WEBHOOK_GIVE_UP_HOURS")
    """How long a delivery is retried before it goes to the dead-letter queue, and how long a
    subscription may fail before it is disabled."""


class WebhookSenderSettings(WebhookSettings):
    webhook_dead_letter_queue_url: str = Field(
        alias="WEBHOOK_DEAD_LETTER_QUEUE_URL",
        min_length=1,
        description="Where deliveries that failed for the whole retry period go",
    )
    webhook_delivery_max_receives: int = Field(
        alias="WEBHOOK_DELIVERY_MAX_RECEIVES",
        ge=2,
        le=1000,
        description="The deliveries queue's maximum receives, after which it moves a message aside itself",
    )


class LiveMetricsSettings(EnvironmentSettings):
    """Where heartbeats are pushed to the WebSocket connections watching an instance."""

    live_metrics_endpoint: str | None = Field(default=None, alias="LIVE_METRICS_ENDPOINT")
    """The WebSocket API's Management API endpoint (`https://{api}.execute-api.{region}.amazonaws.com/
    {stage}`); unset, heartbeats are pushed nowhere (the local stack pushes through its own server)."""
    live_connection_hours: float = Field(default=2.5, gt=0, le=24, alias="LIVE_CONNECTION_HOURS")
    """How long a connection is kept if its close is never heard: API Gateway closes one after two hours."""


class BillingSettings(EnvironmentSettings):
    """What using a machine costs a team, and when a team is warned about its balance."""

    platform_margin: float = Field(default=0.0, ge=0, le=10, alias="PLATFORM_MARGIN")
    """Charged on top of what the provider charges for a machine: 0.2 charges 120% of its price."""
    low_balance_threshold_usd: float = Field(default=10.0, ge=0, alias="LOW_BALANCE_THRESHOLD_USD")
    """A team whose balance falls under this (unless it set its own) is warned, once a crossing."""
    trial_credit_usd: float = Field(default=0.0, ge=0, le=10_000, alias="TRIAL_CREDIT_USD")
    """What a new sign-up's team starts with."""
    storage_price_per_gb_month: float = Field(default=0.023, ge=0, le=10, alias="STORAGE_PRICE_PER_GB_MONTH")
    """What a GB (2^30 bytes) kept a month (730 hours) in snapshots costs: S3 Standard's price by default."""
    stripe_secret_arn: str | None = Field(default=None, alias="STRIPE_SECRET_ARN")
    """A Secrets Manager secret holding `{"api_key", "webhook_secret"}`: credits are then paid through Stripe
    Checkout; without it they are confirmed at once (the local stack)."""
    instant_payments: bool = Field(default=False, alias="INSTANT_PAYMENTS")
    """Confirm every payment at once, unpaid: the local stack's stand-in for a payment provider. Without it
    or Stripe, adding credits is refused and only operators' grants add them."""
    checkout_success_url: str = Field(
        default="https://example.com/billing/paid", alias="CHECKOUT_SUCCESS_URL"
    )
    checkout_cancel_url: str = Field(default="https://example.com/billing", alias="CHECKOUT_CANCEL_URL")


class MarketSettings(EnvironmentSettings):
    """How long the market's prices are kept, and how long live offers are reused."""

    market_point_retention_days: int = Field(default=7, ge=1, le=35, alias="MARKET_POINT_RETENTION_DAYS")
    """Each collection's prices; longer periods are read from the hourly rollups."""
    market_rollup_retention_days: int = Field(default=365, ge=7, alias="MARKET_ROLLUP_RETENTION_DAYS")
    offer_cache_seconds: float = Field(default=30.0, ge=0, le=600, alias="OFFER_CACHE_SECONDS")
    """How long an answer of the provider's offer search is reused for the offer routes."""


# One model per function: what its handler checks at cold start.


class ApiSettings(
    TableSettings,
    WorkflowSettings,
    AgentSettings,
    InstanceLogSettings,
    SnapshotSettings,
    TokenSettings,
    UsagePlanSettings,
    GuessingSettings,
    PresentationSettings,
    CpuStandbySettings,
    WebhookSettings,
    BillingSettings,
    MarketSettings,
    ProviderSettings,
    LiveMetricsSettings,
):
    """The API function: every route (live offers ask the provider; heartbeats are pushed live)."""


class DemoSettings(EnvironmentSettings):
    demo_usage_key: str | None = Field(default=None, alias="DEMO_USAGE_KEY")
    """The value of the API Gateway key of the demo usage plan, which the authorizer names for demo-mode
    requests without credentials (`?demo=true`), so API Gateway holds them all to that plan's low limits.
    Not a secret: with the API key source AUTHORIZER, callers never send a key themselves."""


class AuthorizerSettings(TableSettings, TokenSettings, AgentSettings, DemoSettings):
    """The REQUEST authorizer: checks access tokens, API keys and agent tokens."""


class LiveConnectionSettings(TableSettings, TokenSettings, AgentSettings, LiveMetricsSettings):
    """The WebSocket API's function: connections to an instance's live metrics open and close."""


class InstanceTasksSettings(
    TableSettings, ProviderSettings, AgentSettings, SnapshotSettings, CpuStandbySettings, BillingSettings
):
    """The steps of the instance workflows."""


class HousekeepingSettings(
    TableSettings,
    WorkflowSettings,
    AgentSettings,
    SnapshotSettings,
    ProviderSettings,
    CpuStandbySettings,
    BillingSettings,
):
    """The scheduled idle check and chunk sweep."""


class WatchSettings(EnvironmentSettings):
    """How the reconciler's passes look for orphans and for interrupted machines."""

    watch_polls: int = Field(default=5, ge=1, le=12, alias="WATCH_POLLS")
    """Passes per invocation: a schedule fires at most once a minute, and a dead machine must be
    noticed in seconds."""
    watch_poll_seconds: float = Field(default=10.0, ge=0, le=60, alias="WATCH_POLL_SECONDS")
    interruption_confirm_seconds: float = Field(default=20.0, ge=0, alias="INTERRUPTION_CONFIRM_SECONDS")
    """How long a machine must go on looking dead, over two looks, before its instance is interrupted."""
    silence_confirm_seconds: float = Field(default=10.0, ge=0, alias="SILENCE_CONFIRM_SECONDS")
    """How long an agent's silence must go on once seen (it is already two of its intervals long then)
    before its instance is interrupted: at most a pass, so that a partition is noticed within 30 s."""


class ReconcilerSettings(
    TableSettings,
    ProviderSettings,
    AgentSettings,
    WatchSettings,
    WorkflowSettings,
    CpuStandbySettings,
    BillingSettings,
):
    """The scheduled reconciler of the machines rented and the instances' records."""


class WebhookFanOutSettings(TableSettings, WebhookSettings):
    """The fan-out of domain events to the webhook subscriptions that want them."""


class WebhookSendingSettings(TableSettings, WebhookSenderSettings):
    """The sender of webhook deliveries."""


class PriceCollectorSettings(TableSettings, ProviderSettings, MarketSettings):
    """The scheduled price collection."""


class RealVastSettings(EnvironmentSettings):
    """`make run` renting from the real Vast.ai instead of the local marketplace: an explicit opt-in, the
    account's key, and a cap on what one machine may cost."""

    use_real_vast: bool = Field(default=False, alias="DUMONT_REAL_VAST")
    vast_api_key: SecretStr | None = Field(default=None, alias="VAST_API_KEY")
    vast_api_url: str = Field(default=DEFAULT_VAST_API_URL, alias="VAST_API_URL")
    max_price_per_hour: float | None = Field(default=None, gt=0, le=100, alias="VAST_MAX_PRICE_PER_HOUR")
