"""Serverless mode works over the instance service: the instances' fixtures serve here too."""

from tests.integration.instances.conftest import cloud, provider

__all__ = ["cloud", "provider"]
