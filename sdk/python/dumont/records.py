"""What the API answers besides instances and snapshots: read-only objects with attributes."""

from __future__ import annotations

from dumont._objects import ApiObject, Record


class Hibernation(ApiObject):
    SCHEMA = ("HibernatingView",)

    status: str
    message: str
    snapshot_id: str | None
    savings_per_hour: float | None


class Wake(ApiObject):
    SCHEMA = ("WakingView",)

    status: str
    message: str
    estimated_ready: str | None


class SavingsDashboard(ApiObject):
    SCHEMA = ("DashboardView",)

    total_saved_usd: float
    roi_percent: float
    aws_equivalent: float
    total_cost_dumont: float
    savings_percent: float
    monthly_burn: float


class SavingsSummary(ApiObject):
    SCHEMA = ("SummaryView",)

    period: str
    total_cost_dumont: float
    total_cost_aws: float
    savings_vs_aws: float
    roi_percent: float


class Balance(ApiObject):
    SCHEMA = ("BalanceView",)

    balance: float
    currency: str
    burn_per_hour: float
    hours_left: float | None
    running_instances: int


class Offer(ApiObject):
    SCHEMA = ("OfferView",)

    offer_id: str
    gpu_type: str
    gpu_name: str
    num_gpus: int
    region: str | None
    price_per_hour: float
    price_per_gpu_hour: float
    reliability: float | None


class MarketPrice(ApiObject):
    SCHEMA = ("MarketPriceView",)

    gpu_type: str
    provider: str
    timestamp: str
    regions: list[Record]


class Forecast(ApiObject):
    SCHEMA = ("ForecastView",)

    status: str
    current_price: float | None
    horizons: list[Record]
    recommendation: str | None


class ServerlessStatus(ApiObject):
    SCHEMA = ("ServerlessStatusView",)

    instance_id: str
    enabled: bool
    state: str | None
    idle_timeout_minutes: float | None
    gpu_threshold: float | None


class FailoverStatus(ApiObject):
    SCHEMA = ("FailoverStatusView",)

    instance_id: str
    enabled: bool
    strategy: str | None
    status: str
    last_failover: str | None


class Team(ApiObject):
    SCHEMA = ("TeamDetailView", "TeamView")

    id: str
    name: str
    plan: str
    role: str
    current: bool


class Member(ApiObject):
    SCHEMA = ("MemberView",)

    account_id: str
    email: str
    role: str


class Role(ApiObject):
    SCHEMA = ("RoleView",)

    name: str
    permissions: list[str]
    system: bool


class ApiKey(ApiObject):
    """`key` is present only on the answer to a create (the whole key is answered once)."""

    SCHEMA = ("CreatedApiKeyView", "ApiKeyView")

    id: str
    name: str
    prefix: str
    key: str | None
    created_at: str
    revoked_at: str | None


class Webhook(ApiObject):
    """`secret` is present only on the answer to a create."""

    SCHEMA = ("CreatedWebhookView", "WebhookView")

    id: str
    url: str
    events: list[str]
    enabled: bool
    secret: str | None


class Delivery(ApiObject):
    SCHEMA = ("DeliveryView",)

    id: str
    webhook_id: str
    event: str
    status: str
    attempts: int
    response_code: int | None


class SshKey(ApiObject):
    """A key of an instance, or of your account (every instance created from then on starts with it)."""

    SCHEMA = ("SshKeyView", "AccountSshKeyView")

    id: str
    name: str
    fingerprint: str
    public_key: str
    added_at: str


class GpuAdvice(ApiObject):
    """The GPU advisor's answer: `recommended_gpu` is None when nothing fits (`reasoning` says why)."""

    SCHEMA = ("AdviceView",)

    recommended_gpu: str | None
    reasoning: str
    estimated_time: str | None
    total_cost: str | None
    recommendation: Record | None
    memory_needed_gb: float
    memory_rule: str
    alternatives: list[Record]


class MarketSummary(ApiObject):
    SCHEMA = ("MarketSummaryView",)

    timestamp: str
    total_gpus_available: int
    avg_price_change_24h: float | None
    trending_gpus: list[str]


class HibernationHistory(ApiObject):
    """Your team's hibernations, newest first, and what they saved."""

    SCHEMA = ("HibernationHistoryView",)

    events: list[Record]
    total_savings: float


class PlanChange(ApiObject):
    SCHEMA = ("PlanChangeView",)

    team_id: str
    plan: str
    previous_plan: str
    changed: bool
    requests_per_minute: int
    requests_per_day: int
