"""The async client: `AsyncClient(api_key=...)`, the same resources awaited, on httpx.AsyncClient."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from dumont import _calls as calls
from dumont._async_account import (
    AsyncApiKeys,
    AsyncBilling,
    AsyncMarket,
    AsyncOffers,
    AsyncRoles,
    AsyncSavings,
    AsyncTeams,
    AsyncWebhooks,
)
from dumont._async_compute import AsyncFailover, AsyncInstances, AsyncServerless, AsyncSnapshots
from dumont._async_keys_and_advice import AsyncAdvisor, AsyncSshKeys
from dumont._objects import ApiObject
from dumont._transport import AsyncTransport, Call, Settings
from dumont.client import _check_not_stuck, _timed_out


class AsyncClient:
    """`async with AsyncClient() as client: await client.instances.get(...)`: every resource of `Client`,
    awaited; lists are iterated with `async for`."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int = 0,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = Settings.build(api_key, base_url, timeout, max_retries)
        self._transport = AsyncTransport(self._settings, http_client)
        self.instances = AsyncInstances(self)
        self.snapshots = AsyncSnapshots(self)
        self.serverless = AsyncServerless(self)
        self.failover = AsyncFailover(self)
        self.savings = AsyncSavings(self)
        self.billing = AsyncBilling(self)
        self.market = AsyncMarket(self)
        self.offers = AsyncOffers(self)
        self.teams = AsyncTeams(self)
        self.roles = AsyncRoles(self)
        self.api_keys = AsyncApiKeys(self)
        self.webhooks = AsyncWebhooks(self)
        self.ssh_keys = AsyncSshKeys(self)
        self.advisor = AsyncAdvisor(self)

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> Any:
        return await self._transport.run(Call((method, path), calls.data, params=params, body=json))

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _wait(
        self,
        target: ApiObject,
        done: Callable[[], bool],
        dead_ends: frozenset[str],
        timeout: float,
        poll_interval: float,
    ) -> None:
        clock = self._settings.clock
        deadline = clock() + timeout
        while True:
            await target.refresh()
            if done():
                return
            _check_not_stuck(target, dead_ends)
            if clock() >= deadline:
                raise _timed_out(target, timeout)
            if self._settings.sleep is time.sleep:
                await asyncio.sleep(poll_interval)
            else:
                self._settings.sleep(poll_interval)


AsyncDumontClient = AsyncClient
