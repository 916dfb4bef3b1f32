"""Instances charged by the meter, over one real table (moto), with the clock in the test's hands."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest

from dumont_core.billing.meter import Meter
from dumont_core.billing.models import CreditSource, EntryKind
from dumont_core.billing.payments import InstantPayments
from dumont_core.billing.repository import BillingRepository
from dumont_core.billing.service import BillingService
from dumont_core.instances.metrics import MetricsRepository
from dumont_core.instances.models import Instance
from dumont_core.instances.quotes import OfferQuotes
from dumont_core.instances.reconciler import MachineReconciler
from dumont_core.instances.repository import InstanceRepository
from dumont_core.instances.service import InstanceService
from dumont_core.instances.steps import InstanceWorkflowSteps
from dumont_core.platform.settings import BillingSettings, ProviderSettings
from tests.fakes.clock import Clock
from tests.fakes.events import InMemoryPublisher
from tests.fakes.provider import FakeProvider, offer
from tests.fakes.workflows import RecordingStarter
from tests.integration.instances.conftest import PRINCIPAL, Cloud
from tests.integration.instances.conftest import provider as provider  # the same marketplace

TEAM = PRINCIPAL.team_id


class RecordingHibernator:
    """Hibernates by moving nothing: records which instances it was asked to hibernate, and why."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def hibernate_instance(self, instance: Instance, reason: str) -> object:
        self.asked.append((instance.instance_id, reason))
        return None


@dataclass
class Money:
    """The cloud as the API and the workflows drive it, and billing over it."""

    cloud: Cloud
    meter: Meter
    billing: BillingService
    repository: BillingRepository
    hibernator: RecordingHibernator

    def top_up(self, dollars: float, payment_id: str | None = None) -> bool:
        return self.meter.credit(
            TEAM, PRINCIPAL.account_id, dollars, CreditSource.PAYMENT, payment_id=payment_id
        )

    def balance(self) -> float:
        return self.repository.balance(TEAM).balance_micros / 1_000_000

    def charged(self) -> float:
        lines = self.repository.ledger(TEAM, "0000", "9999")
        return sum(line.amount_micros for line in lines if line.kind == EntryKind.CHARGE) / 1_000_000

    def events(self, kind: str) -> list[Any]:
        return [event for event in self.cloud.publisher.published if event.type == kind]


def build_money(
    clock: Clock,
    *,
    publisher: InMemoryPublisher | None = None,
    provider: FakeProvider | None = None,
    settings: ProviderSettings | None = None,
    quoted: bool = False,
    margin: float = 0.0,
) -> Money:
    """The cloud and billing over it, on the table bound now."""
    publisher = publisher or InMemoryPublisher()
    offers = [
        offer(number, price=0.3 + number / 10, min_bid=0.2 if number % 2 else None) for number in range(1, 7)
    ]
    provider = provider or FakeProvider(offers=offers)
    settings = settings or ProviderSettings.model_validate({"SPOT_BID_MARGIN": 0.1, "OFFERS_TO_TRY": 3})
    repository = InstanceRepository(event_retention=timedelta(days=90))
    readings = MetricsRepository(retention=timedelta(days=35))
    billing_repository = BillingRepository()
    # The meter as the functions make it, from their settings (PLATFORM_MARGIN among them).
    billing_settings = BillingSettings.model_validate({"PLATFORM_MARGIN": margin})
    meter = replace(
        Meter.of(billing_settings, repository=billing_repository, publisher=publisher), clock=clock
    )
    starter = RecordingStarter()
    service = InstanceService(
        repository=repository,
        readings=readings,
        publisher=publisher,
        workflows=starter,
        meter=meter,
        # Priced as the workflow would rent: a create or a wake needs an hour of the offer it would get.
        quotes=OfferQuotes(provider=provider, settings=settings) if quoted else None,
        clock=clock,
    )
    provider.clock = clock
    cloud = Cloud(
        service=service,
        steps=InstanceWorkflowSteps(instances=service, provider=provider, settings=settings, clock=clock),
        provider=provider,
        repository=repository,
        publisher=publisher,
        starter=starter,
        clock=clock,
        reconciler=MachineReconciler(instances=service, provider=provider, settings=settings, clock=clock),
    )
    hibernator = RecordingHibernator()
    billing = BillingService(
        repository=billing_repository,
        meter=meter,
        instances=service,
        payments=InstantPayments(),
        hibernator=hibernator,
        clock=clock,
    )
    return Money(
        cloud=cloud, meter=meter, billing=billing, repository=billing_repository, hibernator=hibernator
    )


@pytest.fixture
def money(
    dynamodb_table: str,
    publisher: InMemoryPublisher,
    provider: FakeProvider,
    settings: ProviderSettings,
    clock: Clock,
) -> Money:
    return build_money(clock, publisher=publisher, provider=provider, settings=settings, quoted=True)
