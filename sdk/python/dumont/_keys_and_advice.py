"""The sync client's account SSH keys and GPU advisor."""

from __future__ import annotations

import builtins

from dumont import _calls as calls
from dumont._compute import Resource
from dumont.models import GpuAdvice, SshKey


class SshKeys(Resource):
    """`client.ssh_keys`: your account's keys; every instance you create from then on starts with them.
    An instance's own keys are `client.instances.ssh_keys(instance_id)` and its neighbours."""

    def list(self) -> builtins.list[SshKey]:
        return [SshKey(key) for key in self._run(calls.get(calls.LIST_ACCOUNT_SSH_KEYS))]

    def add(self, public_key: str, *, name: str | None = None, idempotency_key: str | None = None) -> SshKey:
        body = calls.without_none(public_key=public_key, name=name)
        return SshKey(self._run(calls.send(calls.ADD_ACCOUNT_SSH_KEY, body, creates=True), idempotency_key))

    def remove(self, key_id: str) -> SshKey:
        """Instances created later do not get it; instances that have it keep it until removed there."""
        return SshKey(self._run(calls.send(calls.REMOVE_ACCOUNT_SSH_KEY, key_id=key_id)))


class Advisor(Resource):
    """`client.advisor`: which GPU does a job for the least money."""

    def recommend_gpu(
        self, task: str, *, dataset_size: str | None = None, budget_per_hour: float | None = None
    ) -> GpuAdvice:
        """`task` as a person writes it (`fine-tune llama2-7b`); `dataset_size` (`50GB`) gives a time and a
        cost. Nothing fitting `budget_per_hour` answers `recommended_gpu=None` with the reason."""
        body = calls.without_none(task=task, dataset_size=dataset_size, budget_per_hour=budget_per_hour)
        return GpuAdvice(self._run(calls.send(calls.RECOMMEND_GPU, body)))
