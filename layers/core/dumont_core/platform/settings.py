"""Configuration from environment variables, validated once per function, at cold start.

Each function has a settings model made of the groups of settings it uses (`ApiSettings`,
`AuthorizerSettings`, …); its handler loads that model when it is imported, so a missing or malformed
variable stops the function before its first request, with a message naming the variable. Services
load the narrower group they need (`WorkflowSettings`, say) from the same environment.

Plain pydantic models validated from `os.environ`, not pydantic-settings: importing that costs a cold
start more than everything it would do for us here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Json, SecretStr, ValidationError

# Secrets read from Secrets Manager are trusted this long: a rotated one is picked up without a redeploy.
SECRET_CACHE_SECONDS = 300
DEFAULT_VAST_API_URL = "https://console.vast.ai"
DEFAULT_AGENT_PACKAGE = "dumont-agent"
DEFAULT_INSTANCE_LOG_GROUP = "/dumont/instances"
DEFAULT_MACHINE_LABEL_PREFIX = "dumont"


class SettingsError(RuntimeError):
    """The environment lacks a variable a function needs, or holds one it cannot read."""


class EnvironmentSettings(BaseModel):
    """A group of settings, each field read from the environment variable its alias names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)


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


class AgentSettings(EnvironmentSettings):
    """How the agents on our machines report."""

    agent_heartbeat_seconds: int = Field(default=60, ge=1, le=3600, alias="AGENT_HEARTBEAT_SECONDS")
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


class UsagePlanSettings(EnvironmentSettings):
    usage_plan_ids: Json[dict[str, str]] = Field(default_factory=dict, alias="USAGE_PLAN_IDS")
    """Plan name -> API Gateway usage plan id (JSON). Each team member gets an API Gateway key in their
    plan's usage plan, which the authorizer names, so API Gateway throttles each member on their own."""


class PresentationSettings(EnvironmentSettings):
    jupyter_domain: str | None = Field(default=None, alias="JUPYTER_DOMAIN")
    """When set, Jupyter is published as `https://{instance_id}.{domain}:8888`; else the host's port."""


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
    MarketSettings,
    ProviderSettings,
):
    """The API function: every route (live offers ask the provider)."""


class AuthorizerSettings(TableSettings, TokenSettings, AgentSettings):
    """The REQUEST authorizer: checks access tokens, API keys and agent tokens."""


class InstanceTasksSettings(TableSettings, ProviderSettings, AgentSettings, SnapshotSettings):
    """The steps of the instance workflows."""


class HousekeepingSettings(TableSettings, WorkflowSettings, AgentSettings, SnapshotSettings):
    """The scheduled idle check and chunk sweep."""


class WatchSettings(EnvironmentSettings):
    """How the reconciler's passes look for orphans and for interrupted machines."""

    watch_polls: int = Field(default=5, ge=1, le=12, alias="WATCH_POLLS")
    """Passes per invocation: a schedule fires at most once a minute, and a dead machine must be
    noticed in seconds."""
    watch_poll_seconds: float = Field(default=10.0, ge=0, le=60, alias="WATCH_POLL_SECONDS")
    interruption_confirm_seconds: float = Field(default=20.0, ge=0, alias="INTERRUPTION_CONFIRM_SECONDS")
    """How long a machine must go on looking dead, over two looks, before its instance is interrupted."""


class ReconcilerSettings(TableSettings, ProviderSettings, AgentSettings, WatchSettings):
    """The scheduled reconciler of the machines rented and the instances' records."""


class PriceCollectorSettings(TableSettings, ProviderSettings, MarketSettings):
    """The scheduled price collection."""


SettingsT = TypeVar("SettingsT", bound=EnvironmentSettings)


def settings_from(model: type[SettingsT], environment: Mapping[str, str]) -> SettingsT:
    """`model` read from `environment`; SettingsError names every missing or malformed variable."""
    try:
        return model.model_validate(dict(environment))
    except ValidationError as error:
        raise SettingsError(_explain(model, error)) from None


_loaded: list[EnvironmentSettings] = []


@cache
def load_settings(model: type[SettingsT]) -> SettingsT:
    """`model` read from this process's environment, once. A group of settings that a model already
    loaded includes (a function's own model includes every group it uses) is that same object."""
    for loaded in _loaded:
        if isinstance(loaded, model):
            return loaded
    settings = settings_from(model, os.environ)
    _loaded.append(settings)
    return settings


def forget_settings() -> None:
    """Read the environment again on the next load (after it changed, as on a new cold start)."""
    _loaded.clear()
    load_settings.cache_clear()


def _explain(model: type[EnvironmentSettings], error: ValidationError) -> str:
    # Built from the locations alone: pydantic's own text would echo the whole environment, secrets too.
    problems = []
    for problem in error.errors(include_input=False, include_url=False):
        variable = str(problem["loc"][0]) if problem["loc"] else "?"
        field = _field_for_alias(model, variable)
        what = f" ({field.description})" if field is not None and field.description else ""
        if problem["type"] == "missing":
            problems.append(f"{variable} is not set{what}")
        else:
            problems.append(f"{variable} is invalid: {problem['msg']}{what}")
    return f"{model.__name__}: " + "; ".join(problems)


def _field_for_alias(model: type[EnvironmentSettings], alias: str) -> Any:
    return next((field for field in model.model_fields.values() if field.alias == alias), None)
