"""Savings over the billing of a cloud driven as in the billing tests."""

from __future__ import annotations

from tests.integration.billing.conftest import money as money  # the same cloud and billing
from tests.integration.instances.conftest import provider as provider
