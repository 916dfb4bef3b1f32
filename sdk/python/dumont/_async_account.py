"""The async client's money, market, teams, roles, API keys and webhooks (as the sync client's)."""

from __future__ import annotations

import builtins
from typing import Any

from dumont import _calls as calls
from dumont._async_compute import AsyncResource as Resource
from dumont._objects import Record
from dumont.models import (
    ApiKey,
    Balance,
    Delivery,
    Forecast,
    MarketPrice,
    MarketSummary,
    Member,
    Offer,
    PlanChange,
    Role,
    SavingsDashboard,
    SavingsSummary,
    Team,
    Webhook,
)
from dumont.pagination import DEFAULT_PER_PAGE, AsyncPageIterator


class AsyncSavings(Resource):
    """`client.savings`: what you saved against AWS, GCP and Azure."""

    async def get_dashboard(self) -> SavingsDashboard:
        return SavingsDashboard(await self._run(calls.get(calls.SAVINGS_DASHBOARD)))

    async def summary(self, *, period: str | None = None) -> SavingsSummary:
        return SavingsSummary(await self._run(calls.get(calls.SAVINGS_SUMMARY, {"period": period})))

    async def history(self, *, months: int | None = None) -> Record:
        return Record(await self._run(calls.get(calls.SAVINGS_HISTORY, {"months": months})))

    async def breakdown(self, *, period: str | None = None) -> Record:
        return Record(await self._run(calls.get(calls.SAVINGS_BREAKDOWN, {"period": period})))

    async def comparison(self, gpu_type: str) -> Record:
        return Record(await self._run(calls.get(calls.SAVINGS_COMPARISON, gpu_type=gpu_type)))


class AsyncBilling(Resource):
    """`client.billing`: balance, history and credits."""

    async def balance(self) -> Balance:
        return Balance(await self._run(calls.get(calls.BALANCE)))

    def history(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        instance_id: str | None = None,
        per_page: int = DEFAULT_PER_PAGE,
    ) -> AsyncPageIterator[Record]:
        filters = {"since": since, "until": until, "instance_id": instance_id}
        return AsyncPageIterator(
            lambda number: self._run(calls.page(calls.BILLING_HISTORY, number, per_page, filters)), Record
        )

    async def add_credits(self, amount: float, *, idempotency_key: str | None = None) -> Record:
        """Starts a Stripe Checkout; `checkout_url` is where to pay."""
        call = calls.send(calls.ADD_CREDITS, {"amount": amount}, creates=True)
        return Record(await self._run(call, idempotency_key))

    async def set_low_balance_threshold(self, threshold: float | None) -> Record:
        """The balance under which the team is warned (`balance.low`); None: the deployment's default."""
        body = {"low_balance_threshold": threshold}
        return Record(await self._run(calls.send(calls.BILLING_SETTINGS, body)))

    async def grant(self, team_id: str, amount: float, *, note: str | None = None) -> Record:
        """For the deployment's operators: credits a team at once, as a `grant` in its history."""
        body = calls.without_none(team_id=team_id, amount=amount, note=note)
        return Record(await self._run(calls.send(calls.GRANT_CREDITS, body, creates=True)))


class AsyncMarket(Resource):
    """`client.market`: prices, history and forecasts per GPU type."""

    async def prices(
        self, *, gpu_type: str | None = None, region: str | None = None
    ) -> builtins.list[MarketPrice]:
        found = await self._run(calls.get(calls.MARKET_PRICES, {"gpu_type": gpu_type, "region": region}))
        return [MarketPrice(item) for item in found]

    async def history(
        self,
        gpu_type: str,
        *,
        region: str | None = None,
        period: str | None = None,
        interval: str | None = None,
    ) -> Record:
        params = {"gpu_type": gpu_type, "region": region, "period": period, "interval": interval}
        return Record(await self._run(calls.get(calls.MARKET_HISTORY, params)))

    async def predictions(self, gpu_type: str, *, region: str | None = None) -> Forecast:
        return Forecast(
            await self._run(calls.get(calls.MARKET_PREDICTIONS, {"gpu_type": gpu_type, "region": region}))
        )

    async def summary(self) -> MarketSummary:
        """The spot market at a glance: GPUs available, the mean 24-hour price change, what is rising."""
        return MarketSummary(await self._run(calls.get(calls.MARKET_SUMMARY)))

    async def providers(self) -> builtins.list[Record]:
        """The providers we rent from: price, reliability and uptime, each with where it comes from."""
        answer = await self._run(calls.get(calls.PROVIDERS))
        return [Record(provider) for provider in answer["providers"]]


class AsyncOffers(Resource):
    """`client.offers`: live offers, cheapest first by default."""

    def list(
        self, gpu: str | None = None, *, per_page: int = DEFAULT_PER_PAGE, **filters: Any
    ) -> AsyncPageIterator[Offer]:
        """Filters as the API names them: region, gpus, min_vram_gb, max_price, min_reliability,
        interruptible, sort."""
        if gpu is None:
            return AsyncPageIterator(
                lambda number: self._run(calls.page(calls.LIST_OFFERS, number, per_page, filters)), Offer
            )
        return AsyncPageIterator(
            lambda number: self._run(calls.page(calls.OFFERS_OF_GPU, number, per_page, filters, gpu=gpu)),
            Offer,
        )


class AsyncTeams(Resource):
    """`client.teams`: your teams and their members."""

    async def list(self) -> builtins.list[Team]:
        return [Team(team) for team in await self._run(calls.get(calls.LIST_TEAMS))]

    async def get(self, team_id: str) -> Team:
        return Team(await self._run(calls.get(calls.GET_TEAM, team_id=team_id)))

    async def create(self, name: str, *, idempotency_key: str | None = None) -> Team:
        return Team(
            await self._run(calls.send(calls.CREATE_TEAM, {"name": name}, creates=True), idempotency_key)
        )

    async def members(self, team_id: str) -> builtins.list[Member]:
        return [Member(member) for member in await self._run(calls.get(calls.LIST_MEMBERS, team_id=team_id))]

    async def add_member(self, team_id: str, email: str, role: str) -> Member:
        call = calls.send(calls.ADD_MEMBER, {"email": email, "role": role}, creates=True, team_id=team_id)
        return Member(await self._run(call))

    async def change_role(self, team_id: str, account_id: str, role: str) -> Member:
        call = calls.send(calls.CHANGE_MEMBER, {"role": role}, team_id=team_id, account_id=account_id)
        return Member(await self._run(call))

    async def remove_member(self, team_id: str, account_id: str) -> Member:
        return Member(
            await self._run(calls.send(calls.REMOVE_MEMBER, team_id=team_id, account_id=account_id))
        )

    async def change_plan(self, team_id: str, plan: str) -> PlanChange:
        """For the deployment's operators: every member's rate limits follow from their next request."""
        return PlanChange(await self._run(calls.send(calls.CHANGE_PLAN, {"plan": plan}, team_id=team_id)))


class AsyncRoles(Resource):
    """`client.roles`: the built-in roles and your custom ones."""

    async def list(self) -> builtins.list[Role]:
        return [Role(role) for role in await self._run(calls.get(calls.LIST_ROLES))]

    async def create(
        self, name: str, permissions: builtins.list[str], *, description: str | None = None
    ) -> Role:
        body = calls.without_none(name=name, permissions=permissions, description=description)
        return Role(await self._run(calls.send(calls.CREATE_ROLE, body, creates=True)))


class AsyncApiKeys(Resource):
    """`client.api_keys`: the whole key is answered once, by `create()`."""

    async def list(self) -> builtins.list[ApiKey]:
        return [ApiKey(key) for key in await self._run(calls.get(calls.LIST_API_KEYS))]

    async def create(self, name: str, *, idempotency_key: str | None = None) -> ApiKey:
        return ApiKey(
            await self._run(calls.send(calls.CREATE_API_KEY, {"name": name}, creates=True), idempotency_key)
        )

    async def revoke(self, key_id: str) -> ApiKey:
        return ApiKey(await self._run(calls.send(calls.REVOKE_API_KEY, key_id=key_id)))

    delete = revoke


class AsyncWebhooks(Resource):
    """`client.webhooks`: subscriptions, their deliveries, tests and redeliveries."""

    async def list(self) -> builtins.list[Webhook]:
        return [Webhook(hook) for hook in await self._run(calls.get(calls.LIST_WEBHOOKS))]

    async def create(
        self,
        url: str,
        events: builtins.list[str],
        *,
        secret: str | None = None,
        enabled: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Webhook:
        body = calls.without_none(url=url, events=events, secret=secret, enabled=enabled)
        return Webhook(await self._run(calls.send(calls.CREATE_WEBHOOK, body, creates=True), idempotency_key))

    async def get(self, webhook_id: str) -> Webhook:
        return Webhook(await self._run(calls.get(calls.GET_WEBHOOK, webhook_id=webhook_id)))

    async def update(self, webhook_id: str, **changes: Any) -> Webhook:
        """Changes any of url, events, secret, enabled."""
        return Webhook(await self._run(calls.send(calls.CHANGE_WEBHOOK, changes, webhook_id=webhook_id)))

    async def delete(self, webhook_id: str) -> Webhook:
        return Webhook(await self._run(calls.send(calls.DELETE_WEBHOOK, webhook_id=webhook_id)))

    async def test(self, webhook_id: str) -> Delivery:
        return Delivery(await self._run(calls.send(calls.TEST_WEBHOOK, webhook_id=webhook_id)))

    async def deliveries(self, webhook_id: str, *, limit: int | None = None) -> builtins.list[Delivery]:
        found = await self._run(calls.get(calls.LIST_DELIVERIES, {"limit": limit}, webhook_id=webhook_id))
        return [Delivery(item) for item in found]

    async def redeliver(self, webhook_id: str, delivery_id: str) -> Delivery:
        call = calls.send(calls.REDELIVER, webhook_id=webhook_id, delivery_id=delivery_id)
        return Delivery(await self._run(call))
