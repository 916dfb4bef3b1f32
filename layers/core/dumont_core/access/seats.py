"""A new member's seat, and the API Gateway key that comes with it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from dumont_core.access.models import Seat, Team
from dumont_core.access.plans import PLANS
from dumont_core.access.usage_keys import UsageKeys


@dataclass(frozen=True, kw_only=True)
class SeatMaker:
    usage_keys: UsageKeys

    def new_seat(
        self,
        team: Team,
        account_id: str,
        email: str,
        role: str,
        custom_permissions: list[str] | None,
        joined_at: datetime,
        version: int = 0,
    ) -> Seat:
        """A seat on the team's plan, with an API Gateway key of its own in that plan's usage plan;
        `version` is the account's token version now (see `Seat.version`)."""
        plan = PLANS[team.plan]
        usage_key = self.usage_keys.issue(f"dumont-{team.team_id}-{account_id}", plan.name)
        return Seat(
            team_id=team.team_id,
            team_name=team.name,
            account_id=account_id,
            email=email,
            role=role,
            custom_permissions=custom_permissions,
            plan=plan.name,
            minute_limit=plan.requests_per_minute,
            day_limit=plan.requests_per_day,
            usage_key_id=usage_key.key_id if usage_key else None,
            usage_key=usage_key.value if usage_key else None,
            joined_at=joined_at,
            api_keys={},
            version=version,
        )

    @contextmanager
    def kept_if_stored(self, seat: Seat) -> Iterator[None]:
        """The seat's API Gateway key was made before the seat is stored; if storing fails, it goes."""
        try:
            yield
        except BaseException:
            self.retire(seat)
            raise

    def retire(self, seat: Seat) -> None:
        if seat.usage_key_id:
            self.usage_keys.retire(seat.usage_key_id)

    def move(self, seat: Seat, plan: str) -> None:
        """The seat's API Gateway key into `plan`'s usage plan."""
        if seat.usage_key_id:
            self.usage_keys.move(seat.usage_key_id, plan)
