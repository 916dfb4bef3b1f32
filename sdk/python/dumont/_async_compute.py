"""The async client's instances, snapshots, serverless mode and failover (as the sync client's)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from dumont import _calls as calls
from dumont._objects import Record
from dumont.models import (
    AsyncInstance,
    AsyncSnapshot,
    FailoverStatus,
    Hibernation,
    HibernationHistory,
    ServerlessStatus,
    SshKey,
    Wake,
)
from dumont.pagination import DEFAULT_PER_PAGE, AsyncPageIterator

if TYPE_CHECKING:
    from dumont.aio import AsyncClient


class AsyncResource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._run = client._transport.run


class AsyncInstances(AsyncResource):
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

    async def events(self, instance_id: str) -> builtins.list[Record]:
        answer = await self._run(calls.get(calls.INSTANCE_EVENTS, instance_id=instance_id))
        return [Record(event) for event in answer["events"]]

    async def logs(
        self, instance_id: str, *, lines: int | None = None, since: str | None = None
    ) -> builtins.list[Record]:
        params = {"lines": lines, "since": since}
        answer = await self._run(calls.get(calls.INSTANCE_LOGS, params, instance_id=instance_id))
        return [Record(line) for line in answer["lines"]]

    async def metrics(
        self, instance_id: str, *, period: str | None = None, metrics: str | None = None
    ) -> builtins.list[Record]:
        params = {"period": period, "metrics": metrics}
        answer = await self._run(calls.get(calls.INSTANCE_METRICS, params, instance_id=instance_id))
        return [Record(point) for point in answer]

    async def hibernation_history(self, *, days: int | None = None) -> HibernationHistory:
        return HibernationHistory(await self._run(calls.get(calls.HIBERNATION_EVENTS, {"days": days})))

    async def ssh_keys(self, instance_id: str) -> builtins.list[SshKey]:
        found = await self._run(calls.get(calls.LIST_SSH_KEYS, instance_id=instance_id))
        return [SshKey(key) for key in found]

    async def add_ssh_key(
        self,
        instance_id: str,
        public_key: str,
        *,
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> SshKey:
        body = calls.without_none(public_key=public_key, name=name)
        call = calls.send(calls.ADD_SSH_KEY, body, creates=True, instance_id=instance_id)
        return SshKey(await self._run(call, idempotency_key))

    async def remove_ssh_key(self, instance_id: str, key_id: str) -> SshKey:
        call = calls.send(calls.REMOVE_SSH_KEY, instance_id=instance_id, key_id=key_id)
        return SshKey(await self._run(call))

    def _wrap(self, data: dict[str, Any]) -> AsyncInstance:
        return AsyncInstance(data, self._client)


class AsyncSnapshots(AsyncResource):
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


class AsyncServerless(AsyncResource):
    """`client.serverless`: hibernate by itself when idle."""

    async def enable(
        self,
        instance_id: str,
        *,
        idle_timeout_minutes: float | None = None,
        gpu_threshold: float | None = None,
    ) -> ServerlessStatus:
        body = calls.without_none(
            instance_id=instance_id, idle_timeout_minutes=idle_timeout_minutes, gpu_threshold=gpu_threshold
        )
        return ServerlessStatus(await self._run(calls.send(calls.SERVERLESS_ENABLE, body)))

    async def disable(self, instance_id: str) -> ServerlessStatus:
        return ServerlessStatus(
            await self._run(calls.send(calls.SERVERLESS_DISABLE, {"instance_id": instance_id}))
        )

    async def status(self, instance_id: str) -> ServerlessStatus:
        return ServerlessStatus(await self._run(calls.get(calls.SERVERLESS_STATUS, instance_id=instance_id)))

    async def pause(self, instance_id: str) -> ServerlessStatus:
        return ServerlessStatus(await self._run(calls.send(calls.SERVERLESS_PAUSE, instance_id=instance_id)))

    async def resume(self, instance_id: str) -> ServerlessStatus:
        return ServerlessStatus(await self._run(calls.send(calls.SERVERLESS_RESUME, instance_id=instance_id)))


class AsyncFailover(AsyncResource):
    """`client.failover`: configure, status, trigger."""

    async def configure(
        self,
        instance_id: str,
        *,
        enabled: bool = True,
        strategy: str | None = None,
        checkpoint_interval_minutes: float | None = None,
    ) -> FailoverStatus:
        body = calls.without_none(
            instance_id=instance_id,
            enabled=enabled,
            strategy=strategy,
            checkpoint_interval_minutes=checkpoint_interval_minutes,
        )
        return FailoverStatus(await self._run(calls.send(calls.FAILOVER_CONFIGURE, body)))

    async def status(self, instance_id: str) -> FailoverStatus:
        return FailoverStatus(await self._run(calls.get(calls.FAILOVER_STATUS, instance_id=instance_id)))

    async def trigger(self, instance_id: str) -> FailoverStatus:
        return FailoverStatus(await self._run(calls.send(calls.FAILOVER_TRIGGER, instance_id=instance_id)))
