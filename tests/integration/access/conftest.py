"""The access services on a real table (moto), with a controllable clock and small limits on guessing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from dumont_core.access.admission import AdmissionRepository
from dumont_core.access.attempts import AttemptLimit, AttemptRepository, GuessingLimits
from dumont_core.access.repository import AccessRepository
from dumont_core.access.seats import SeatMaker
from dumont_core.access.service import AccessService
from dumont_core.access.teams import TeamService
from dumont_core.access.tokens import TokenSigner
from dumont_core.access.usage_keys import ApiGatewayUsageKeys
from tests.fakes.clock import Clock
from tests.integration.conftest import REGION

PASSWORD = "correct horse battery"
LIMITS = GuessingLimits(
    failed_logins_per_account=AttemptLimit(3, 900),
    failed_logins_per_address=AttemptLimit(5, 900),
    registrations_per_address=AttemptLimit(4, 3600),
    demo_requests_per_address=AttemptLimit(3, 60),
)


@pytest.fixture
def usage_plans(dynamodb_table: str) -> dict[str, str]:
    apigateway = boto3.client("apigateway", region_name=REGION)
    return {plan: apigateway.create_usage_plan(name=plan)["id"] for plan in ("free", "pro", "enterprise")}


@pytest.fixture
def access(dynamodb_table: str, usage_plans: dict[str, str], clock: Clock) -> AccessService:
    # Token expiry is checked against the real clock, so the test clock starts today, and tokens
    # outlive the day the tests move it through. It starts at midnight: a test moving a few minutes
    # on from the real time would cross into a new daily window just before midnight.
    clock.now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    signer = TokenSigner("s" * 48, lifetime=timedelta(days=3))
    return AccessService(
        repository=AccessRepository(),
        admission=AdmissionRepository(),
        seats=SeatMaker(usage_keys=ApiGatewayUsageKeys(usage_plans)),
        signer=lambda: signer,
        attempts=AttemptRepository(),
        limits=LIMITS,
        clock=clock,
    )


@pytest.fixture
def teams(access: AccessService, clock: Clock) -> TeamService:
    return TeamService(repository=access.repository, seats=access.seats, clock=clock)
