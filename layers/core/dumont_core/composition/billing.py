"""The billing and savings domains' services: the meter, balances and credits, and what was saved.

Billing is loaded only by what needs it (a request that rents, a sign-up, the billing routes): the
authorizer and the agents never load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dumont_core.composition.providing import provided, repository
from dumont_core.platform.settings import BillingSettings, load_settings

if TYPE_CHECKING:
    from dumont_core.billing.meter import Meter
    from dumont_core.billing.repository import BillingRepository
    from dumont_core.billing.service import BillingService
    from dumont_core.savings.service import SavingsService


@repository
def billing_repository() -> BillingRepository:
    from dumont_core.billing.repository import BillingRepository

    return BillingRepository()


@provided
def meter() -> Meter:
    from dumont_core import composition
    from dumont_core.billing.meter import Meter

    return Meter.of(
        load_settings(BillingSettings), repository=billing_repository(), publisher=composition.publisher()
    )


@provided
def billing() -> BillingService:
    from dumont_core import composition
    from dumont_core.billing.payments import payments_from
    from dumont_core.billing.service import BillingService
    from dumont_core.platform.secrets import read_secret

    return BillingService(
        repository=billing_repository(),
        meter=meter(),
        instances=composition.instances(),
        payments=payments_from(load_settings(BillingSettings), read_secret),
        hibernator=composition.snapshots(),
        teams=composition.teams(),
        # What snapshots keep in S3, asked of the snapshots service: billing never reads their records.
        storage=composition.snapshots(),
    )


@provided
def savings() -> SavingsService:
    from dumont_core import composition
    from dumont_core.savings.service import SavingsService

    return SavingsService(
        billing=billing(),
        instances=composition.instances(),
        hibernations=composition.serverless(),
        market=composition.market(),
    )
