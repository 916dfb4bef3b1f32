"""The async client's account SSH keys and GPU advisor (as the sync client's)."""

from __future__ import annotations

import builtins

from dumont import _calls as calls
from dumont._async_compute import AsyncResource
from dumont.models import GpuAdvice, SshKey


class AsyncSshKeys(AsyncResource):
    """`client.ssh_keys`: your account's keys; every instance you create from then on starts with them."""

    async def list(self) -> builtins.list[SshKey]:
        return [SshKey(key) for key in await self._run(calls.get(calls.LIST_ACCOUNT_SSH_KEYS))]

    async def add(
        self, public_key: str, *, name: str | None = None, idempotency_key: str | None = None
    ) -> SshKey:
        body = calls.without_none(public_key=public_key, name=name)
        call = calls.send(calls.ADD_ACCOUNT_SSH_KEY, body, creates=True)
        return SshKey(await self._run(call, idempotency_key))

    async def remove(self, key_id: str) -> SshKey:
        return SshKey(await self._run(calls.send(calls.REMOVE_ACCOUNT_SSH_KEY, key_id=key_id)))


class AsyncAdvisor(AsyncResource):
    """`client.advisor`: which GPU does a job for the least money."""

    async def recommend_gpu(
        self, task: str, *, dataset_size: str | None = None, budget_per_hour: float | None = None
    ) -> GpuAdvice:
        body = calls.without_none(task=task, dataset_size=dataset_size, budget_per_hour=budget_per_hour)
        return GpuAdvice(await self._run(calls.send(calls.RECOMMEND_GPU, body)))
