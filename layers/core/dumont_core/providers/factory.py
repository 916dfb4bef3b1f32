"""The provider adapter the settings describe."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

from dumont_core.providers.base import GpuProvider
from dumont_core.settings import SECRET_CACHE_SECONDS, Settings


def provider_api_key(settings: Settings) -> str:
    if settings.vast_api_key is not None:
        return settings.vast_api_key.get_secret_value()
    if settings.vast_api_key_secret_arn:
        return str(parameters.get_secret(settings.vast_api_key_secret_arn, max_age=SECRET_CACHE_SECONDS))
    raise RuntimeError("Set VAST_API_KEY or VAST_API_KEY_SECRET_ARN to reach the GPU provider")


def provider_from_settings(settings: Settings) -> GpuProvider:
    from dumont_core.providers.vastai import VastAiProvider

    return VastAiProvider(
        settings.vast_api_url,
        provider_api_key(settings),
        timeout_seconds=settings.provider_timeout_seconds,
        max_attempts=settings.provider_max_attempts,
        backoff_seconds=settings.provider_backoff_seconds,
    )
