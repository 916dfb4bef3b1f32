"""Secrets kept in Secrets Manager, read through Powertools and trusted for a while."""

from __future__ import annotations

from dumont_core.platform.settings import SECRET_CACHE_SECONDS


def read_secret(arn: str) -> str:
    # Imported on first use: only requests that sign tokens or reach the provider need it.
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(arn, max_age=SECRET_CACHE_SECONDS))
