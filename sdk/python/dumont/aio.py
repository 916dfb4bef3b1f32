"""The async client: `AsyncClient(api_key=...)`, the same resources awaited, on httpx.AsyncClient."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from dumont import _calls as calls
from dumont._objects import ApiObject
from dumont._transport import AsyncTransport, Call, Settings
from dumont.client import _check_not_stuck, _timed_out
from dumont.models import AsyncInstance, AsyncSnapshot, Balance, Hibernation, SavingsDashboard, Wake
from dumont.pagination import DEFAULT_PER_PAGE, AsyncPageIterator


class _AsyncResource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._run = client._transport.run


class AsyncInstances(_AsyncResource):
    def list(
        self, *, status: str | None = None, gpu_type: str | None = None, per_page: int = DEFAULT_PER_PAGE
    ) -> AsyncPageIterator[AsyncInstance]:
        filters = {"status": status, "gpu_type": gpu_type}
        return AsyncPageIterator(
            lambda number: self._run(calls.page(calls.LIST_INSTANCES, number, per_page, filters)), self._wrap
        )

    async def create(
        self,
        gpu_type: str | None = None,
        *,
        gpu: str | None = None,
        idempotency_key: str | None = None,
        wait: bool = True,
        timeout: float = 600,
        **fields: Any,
    ) -> AsyncInstance:
        """The same fields as `Client.instances.create`; returns once running unless `wait=False`."""
        body = calls.instance_body(gpu_type, gpu, {}, **fields)
        created = await self._run(calls.send(calls.CREATE_INSTANCE, body, creates=True), idempotency_key)
        instance = self._wrap({**created, **(await self.get(created["id"])).to_dict()})
        return await instance.wait_until_ready(timeout=timeout) if wait else instance

    async def get(self, instance_id: str) -> AsyncInstance:
        return self._wrap(await self._run(calls.get(calls.GET_INSTANCE, instance_id=instance_id)))

    async def stop(self, instance_id: str) -> AsyncInstance:
        return self._wrap(await self._run(calls.send(calls.STOP_INSTANCE, instance_id=instance_id)))

    async def start(self, instance_id: str) -> AsyncInstance:
        return self._wrap(await self._run(calls.send(calls.START_INSTANCE, instance_id=instance_id)))

    async def reboot(self, instance_id: str) -> AsyncInstance:
        return self._wrap(await self._run(calls.send(calls.REBOOT_INSTANCE, instance_id=instance_id)))

    async def delete(self, instance_id: str) -> AsyncInstance:
        return self._wrap(await self._run(calls.send(calls.DELETE_INSTANCE, instance_id=instance_id)))

    async def hibernate(self, instance_id: str) -> Hibernation:
        return Hibernation(await self._run(calls.send(calls.HIBERNATE, instance_id=instance_id)))

    async def wake(self, instance_id: str) -> Wake:
        return Wake(await self._run(calls.send(calls.WAKE, instance_id=instance_id)))

    def _wrap(self, data: dict[str, Any]) -> AsyncInstance:
        return AsyncInstance(data, self._client)


class AsyncSnapshots(_AsyncResource):
    async def create(
        self,
        instance_id: str,
        *,
        name: str | None = None,
        compression: str | None = None,
        idempotency_key: str | None = None,
    ) -> AsyncSnapshot:
        body = calls.without_none(instance_id=instance_id, name=name, compression=compression)
        return self._wrap(
            await self._run(calls.send(calls.CREATE_SNAPSHOT, body, creates=True), idempotency_key)
        )

    def list(
        self, *, instance_id: str | None = None, per_page: int = DEFAULT_PER_PAGE
    ) -> AsyncPageIterator[AsyncSnapshot]:
        filters = {"instance_id": instance_id}
        return AsyncPageIterator(
            lambda number: self._run(calls.page(calls.LIST_SNAPSHOTS, number, per_page, filters)), self._wrap
        )

    async def get(self, snapshot_id: str) -> AsyncSnapshot:
        return self._wrap(await self._run(calls.get(calls.GET_SNAPSHOT, snapshot_id=snapshot_id)))

    async def restore(self, snapshot_id: str, *, instance_id: str | None = None) -> AsyncSnapshot:
        body = calls.without_none(instance_id=instance_id)
        return self._wrap(await self._run(calls.send(calls.RESTORE_SNAPSHOT, body, snapshot_id=snapshot_id)))

    async def delete(self, snapshot_id: str) -> AsyncSnapshot:
        return self._wrap(await self._run(calls.send(calls.DELETE_SNAPSHOT, snapshot_id=snapshot_id)))

    def _wrap(self, data: dict[str, Any]) -> AsyncSnapshot:
        return AsyncSnapshot(data, self._client)


class AsyncSavings(_AsyncResource):
    async def get_dashboard(self) -> SavingsDashboard:
        return SavingsDashboard(await self._run(calls.get(calls.SAVINGS_DASHBOARD)))


class AsyncBilling(_AsyncResource):
    async def balance(self) -> Balance:
        return Balance(await self._run(calls.get(calls.BALANCE)))


class AsyncClient:
    """`async with AsyncClient() as client: await client.instances.get(...)`.

    Instances, snapshots, savings and the balance as resources; any other route through `request()`."""

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
        self.savings = AsyncSavings(self)
        self.billing = AsyncBilling(self)

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
