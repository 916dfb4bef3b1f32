"""The access domain's services: accounts, tokens, API keys and teams."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING

from dumont_core.composition.providing import provided, repository
from dumont_core.platform.settings import GuessingSettings, TokenSettings, UsagePlanSettings, load_settings

if TYPE_CHECKING:
    from dumont_core.access.admission import AdmissionRepository
    from dumont_core.access.attempts import AttemptRepository
    from dumont_core.access.repository import AccessRepository
    from dumont_core.access.seats import SeatMaker
    from dumont_core.access.service import AccessService
    from dumont_core.access.teams import TeamService
    from dumont_core.access.tokens import TokenSigner


def token_signer() -> TokenSigner:
    """Made for each token signed or verified: the secret is re-read once its cache expires, so a rotated
    one is picked up without a redeploy."""
    from dumont_core.access.tokens import TokenSigner
    from dumont_core.platform.secrets import read_secret

    settings = load_settings(TokenSettings)
    return TokenSigner(
        read_secret(settings.jwt_secret_arn), lifetime=timedelta(minutes=settings.access_token_minutes)
    )


@provided
def seat_maker() -> SeatMaker:
    from dumont_core.access.seats import SeatMaker
    from dumont_core.access.usage_keys import ApiGatewayUsageKeys

    return SeatMaker(usage_keys=ApiGatewayUsageKeys(load_settings(UsagePlanSettings).usage_plan_ids))


@repository
def access_repository() -> AccessRepository:
    from dumont_core.access.repository import AccessRepository

    return AccessRepository()


@repository
def admission_repository() -> AdmissionRepository:
    from dumont_core.access.admission import AdmissionRepository

    return AdmissionRepository()


@repository
def attempt_repository() -> AttemptRepository:
    from dumont_core.access.attempts import AttemptRepository

    return AttemptRepository()


@provided
def access() -> AccessService:
    from dumont_core.access.attempts import GuessingLimits
    from dumont_core.access.service import AccessService
    from dumont_core.composition.billing import meter

    return AccessService(
        repository=access_repository(),
        admission=admission_repository(),
        seats=seat_maker(),
        signer=token_signer,
        attempts=attempt_repository(),
        limits=GuessingLimits.of(load_settings(GuessingSettings)),
        # Billing hears of each sign-up, and is loaded only then: the authorizer and logins never load it.
        welcome=SimpleNamespace(welcome=lambda account_id, team_id: meter().welcome(account_id, team_id)),
    )


@provided
def teams() -> TeamService:
    from dumont_core.access.teams import TeamService

    return TeamService(repository=access_repository(), seats=seat_maker())
