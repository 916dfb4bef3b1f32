"""The access service the settings describe."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from aws_lambda_powertools.utilities import parameters

from dumont_core.access.repository import AccessRepository
from dumont_core.access.service import AccessService
from dumont_core.access.tokens import TokenSigner
from dumont_core.access.usage_keys import ApiGatewayUsageKeys
from dumont_core.settings import SECRET_CACHE_SECONDS, Settings, get_settings


def access_service_from_settings(settings: Settings) -> AccessService:
    def signer() -> TokenSigner:
        if not settings.jwt_secret_arn:
            raise RuntimeError("Set JWT_SECRET_ARN to the secret that signs access tokens")
        secret = str(parameters.get_secret(settings.jwt_secret_arn, max_age=SECRET_CACHE_SECONDS))
        return TokenSigner(secret, lifetime=timedelta(minutes=settings.access_token_minutes))

    return AccessService(
        AccessRepository(settings.table_name), signer, ApiGatewayUsageKeys(settings.usage_plan_ids)
    )


@cache
def access_service() -> AccessService:
    """The process's access service, made on first use from the environment's settings."""
    return access_service_from_settings(get_settings())
