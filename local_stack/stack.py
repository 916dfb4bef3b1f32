"""The whole local stack: embedded AWS, the local GPU marketplace, and the API front."""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass
from typing import Any

from local_stack.embedded_aws import ACCOUNT_ID, STACK_PREFIX, Deployment, EmbeddedAws
from local_stack.front import ApiFront, default_function_name
from local_stack.marketplace import LocalMarketplace


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


class LocalStack:
    def __init__(self, config: LocalStackConfig | None = None) -> None:
        self.config = config or LocalStackConfig()
        self.aws = EmbeddedAws(self.config.host, self.config.aws_port)
        self.marketplace = LocalMarketplace(
            self.config.host,
            self.config.marketplace_port,
            api_key=f"vast-local-{secrets.token_hex(8)}",
            seed=self.config.seed,
            boot_seconds=self.config.boot_seconds,
            action_seconds=self.config.action_seconds,
        )
        self._marketplace_key = self.marketplace.api_key
        self.deployment: Deployment | None = None
        self.front: ApiFront | None = None

    @property
    def url(self) -> str:
        assert self.front is not None, "start() first"
        return self.front.url

    @property
    def api_key(self) -> str:
        assert self.deployment is not None, "start() first"
        return self.deployment.bootstrap_api_key

    def start(self) -> LocalStack:
        # Read-only requests publish no business metric, which Powertools warns about each time.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        self.aws.start()
        self.marketplace.start()
        config = self.config
        self.deployment = self.aws.deploy(
            {
                "VAST_API_URL": self.marketplace.url,
                "VAST_API_KEY": self._marketplace_key,
                "BOOT_POLL_SECONDS": str(config.poll_seconds),
                "BOOT_TIMEOUT_SECONDS": str(config.boot_timeout_seconds),
                "POWER_ACTION_TIMEOUT_SECONDS": str(config.boot_timeout_seconds),
                "ESTIMATED_READY_SECONDS": str(int(config.boot_seconds[1]) + config.poll_seconds * 2),
                "PROVIDER_BACKOFF_SECONDS": "0.2",
                "POWERTOOLS_LOG_LEVEL": config.log_level,
                "POWERTOOLS_METRICS_DISABLED": "true",
            }
        )
        apigateway = self.aws.client("apigateway")

        def api_key_id(value: str) -> str | None:
            for key in apigateway.get_api_keys(includeValues=True)["items"]:
                if key.get("value") == value and key.get("enabled"):
                    return str(key["id"])
            return None

        self.front = ApiFront(
            self.aws.runtime.invoke,
            api_key_id,
            function_name=default_function_name(STACK_PREFIX),
            api_id=self.deployment.api_id,
            account_id=ACCOUNT_ID,
            host=config.host,
            port=config.port,
        )
        self.front.start()
        return self

    def stop(self) -> None:
        if self.front is not None:
            self.front.stop()
        self.marketplace.stop()
        self.aws.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
