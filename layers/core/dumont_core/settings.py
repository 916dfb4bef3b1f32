"""Configuration from environment variables, validated once per process."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets read from Secrets Manager are trusted this long: a rotated one is picked up without a redeploy.
SECRET_CACHE_SECONDS = 300


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(alias="TABLE_NAME")
    event_bus_name: str = Field(default="dumont", alias="EVENT_BUS_NAME")

    provision_state_machine_arn: str | None = Field(default=None, alias="PROVISION_STATE_MACHINE_ARN")
    start_state_machine_arn: str | None = Field(default=None, alias="START_STATE_MACHINE_ARN")
    stop_state_machine_arn: str | None = Field(default=None, alias="STOP_STATE_MACHINE_ARN")
    reboot_state_machine_arn: str | None = Field(default=None, alias="REBOOT_STATE_MACHINE_ARN")
    destroy_state_machine_arn: str | None = Field(default=None, alias="DESTROY_STATE_MACHINE_ARN")
    snapshot_state_machine_arn: str | None = Field(default=None, alias="SNAPSHOT_STATE_MACHINE_ARN")
    restore_state_machine_arn: str | None = Field(default=None, alias="RESTORE_STATE_MACHINE_ARN")
    wake_state_machine_arn: str | None = Field(default=None, alias="WAKE_STATE_MACHINE_ARN")
    snapshot_bucket: str | None = Field(default=None, alias="SNAPSHOT_BUCKET")
    """Where workspace snapshots (chunks and manifests) are kept."""

    vast_api_url: str = Field(default="https://console.vast.ai", alias="VAST_API_URL")
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
    boot_poll_seconds: int = Field(default=10, ge=1, alias="BOOT_POLL_SECONDS")
    power_action_timeout_seconds: int = Field(default=600, ge=1, alias="POWER_ACTION_TIMEOUT_SECONDS")
    estimated_ready_seconds: int = Field(default=90, ge=0, alias="ESTIMATED_READY_SECONDS")
    jupyter_domain: str | None = Field(default=None, alias="JUPYTER_DOMAIN")
    """When set, Jupyter is published as `https://{instance_id}.{domain}:8888`; else the host's port."""
    jwt_secret_arn: str | None = Field(default=None, alias="JWT_SECRET_ARN")
    """Secrets Manager secret whose value signs access tokens."""
    usage_plan_ids: dict[str, str] = Field(default_factory=dict, alias="USAGE_PLAN_IDS")
    """Plan name -> API Gateway usage plan id (JSON). Each team member gets an API Gateway key in their
    plan's usage plan, which the authorizer names, so API Gateway throttles each member on their own."""
    public_api_url: str | None = Field(default=None, alias="PUBLIC_API_URL")
    """Where the agents on rented machines reach the API; no agent is installed when unset."""
    agent_package: str = Field(default="dumont-agent", alias="AGENT_PACKAGE")
    """What a machine's first boot installs with pip: a requirement or the URL of the agent's wheel."""
    agent_heartbeat_seconds: int = Field(default=60, ge=1, le=3600, alias="AGENT_HEARTBEAT_SECONDS")
    instance_log_group: str = Field(default="/dumont/instances", alias="INSTANCE_LOG_GROUP")
    """CloudWatch Logs group of the machines' logs; one stream per instance."""
    metric_retention_days: int = Field(default=35, ge=1, alias="METRIC_RETENTION_DAYS")
    """Long enough for the 30-day chart."""
    agent_action_timeout_seconds: int = Field(default=3600, ge=10, alias="AGENT_ACTION_TIMEOUT_SECONDS")
    access_token_minutes: int = Field(default=60, ge=5, le=24 * 60, alias="ACCESS_TOKEN_MINUTES")
    event_retention_days: int = Field(default=90, ge=1, alias="EVENT_RETENTION_DAYS")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
