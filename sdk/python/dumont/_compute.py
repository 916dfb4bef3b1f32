"""The sync client's instances, snapshots, serverless mode and failover."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from dumont import _calls as calls
from dumont._objects import Record
from dumont.models import (
    FailoverStatus,
    Hibernation,
    HibernationHistory,
    Instance,
    ServerlessStatus,
    Snapshot,
    SshKey,
    Wake,
)
from dumont.pagination import DEFAULT_PER_PAGE, PageIterator

if TYPE_CHECKING:
    from dumont.client import Client


class Resource:
    def __init__(self, client: Client) -> None:
        self._client = client
        self._run = client._transport.run


class Instances(Resource):
    """`client.instances`: list, create, get, stop, start, reboot, hibernate, wake, delete."""

    def list(
        self, *, status: str | None = None, gpu_type: str | None = None, per_page: int = DEFAULT_PER_PAGE
    ) -> PageIterator[Instance]:
        """Your team's instances, newest first; iterating walks every page."""
        filters = {"status": status, "gpu_type": gpu_type}
        return PageIterator(
            lambda number: self._run(calls.page(calls.LIST_INSTANCES, number, per_page, filters)),
            self._wrap,
        )

    def create(
        self,
        gpu_type: str | None = None,
        *,
        gpu: str | None = None,
        region: str | None = None,
        image: str | None = None,
        disk_gb: int | None = None,
        num_gpus: int | None = None,
        name: str | None = None,
        failover_enabled: bool | None = None,
        failover_strategy: str | None = None,
        ssh_key: str | None = None,
        auto_hibernate: bool | None = None,
        idempotency_key: str | None = None,
        wait: bool = True,
        timeout: float = 600,
        **extra: Any,
    ) -> Instance:
        """Rents the cheapest matching GPU and, unless `wait=False`, returns once it is running (its `ip`
        set); WaitTimeoutError past `timeout` seconds, NotReadyError if no machine could boot.

        Sent with an Idempotency-Key (a new one per call unless given), so a retry never rents twice."""
        body = calls.instance_body(
            gpu_type,
            gpu,
            extra,
            region=region,
            image=image,
            disk_gb=disk_gb,
            num_gpus=num_gpus,
            name=name,
            failover_enabled=failover_enabled,
            failover_strategy=failover_strategy,
            ssh_key=ssh_key,
            auto_hibernate=auto_hibernate,
        )
        created = self._run(calls.send(calls.CREATE_INSTANCE, body, creates=True), idempotency_key)
        instance = self._wrap({**created, **self.get(created["id"]).to_dict()})
        return instance.wait_until_ready(timeout=timeout) if wait else instance

    def get(self, instance_id: str) -> Instance:
        return self._wrap(self._run(calls.get(calls.GET_INSTANCE, instance_id=instance_id)))

    def stop(self, instance_id: str) -> Instance:
        return self._wrap(self._run(calls.send(calls.STOP_INSTANCE, instance_id=instance_id)))

    def start(self, instance_id: str) -> Instance:
        return self._wrap(self._run(calls.send(calls.START_INSTANCE, instance_id=instance_id)))

    def reboot(self, instance_id: str) -> Instance:
        return self._wrap(self._run(calls.send(calls.REBOOT_INSTANCE, instance_id=instance_id)))

    def delete(self, instance_id: str) -> Instance:
        """Destroys the machine; the instance ends `deleted`."""
        return self._wrap(self._run(calls.send(calls.DELETE_INSTANCE, instance_id=instance_id)))

    def hibernate(self, instance_id: str) -> Hibernation:
        """Snapshots the workspace, verifies it, then gives the machine back."""
        return Hibernation(self._run(calls.send(calls.HIBERNATE, instance_id=instance_id)))

    def wake(self, instance_id: str) -> Wake:
        """Rents a new machine and restores the workspace onto it."""
        return Wake(self._run(calls.send(calls.WAKE, instance_id=instance_id)))

    def events(self, instance_id: str) -> builtins.list[Record]:
        answer = self._run(calls.get(calls.INSTANCE_EVENTS, instance_id=instance_id))
        return [Record(event) for event in answer["events"]]

    def logs(
        self, instance_id: str, *, lines: int | None = None, since: str | None = None
    ) -> builtins.list[Record]:
        params = {"lines": lines, "since": since}
        answer = self._run(calls.get(calls.INSTANCE_LOGS, params, instance_id=instance_id))
        return [Record(line) for line in answer["lines"]]

    def metrics(
        self, instance_id: str, *, period: str | None = None, metrics: str | None = None
    ) -> builtins.list[Record]:
        params = {"period": period, "metrics": metrics}
        answer = self._run(calls.get(calls.INSTANCE_METRICS, params, instance_id=instance_id))
        return [Record(point) for point in answer]

    def hibernation_history(self, *, days: int | None = None) -> HibernationHistory:
        """Your team's hibernations of the last `days` days (7 by default), newest first."""
        return HibernationHistory(self._run(calls.get(calls.HIBERNATION_EVENTS, {"days": days})))

    def ssh_keys(self, instance_id: str) -> builtins.list[SshKey]:
        found = self._run(calls.get(calls.LIST_SSH_KEYS, instance_id=instance_id))
        return [SshKey(key) for key in found]

    def add_ssh_key(
        self,
        instance_id: str,
        public_key: str,
        *,
        name: str | None = None,
        idempotency_key: str | None = None,
    ) -> SshKey:
        """Authorizes one line of a .pub file on the instance's machines, now and after a wake."""
        body = calls.without_none(public_key=public_key, name=name)
        call = calls.send(calls.ADD_SSH_KEY, body, creates=True, instance_id=instance_id)
        return SshKey(self._run(call, idempotency_key))

    def remove_ssh_key(self, instance_id: str, key_id: str) -> SshKey:
        return SshKey(self._run(calls.send(calls.REMOVE_SSH_KEY, instance_id=instance_id, key_id=key_id)))

    def _wrap(self, data: dict[str, Any]) -> Instance:
        return Instance(data, self._client)


class Snapshots(Resource):
    """`client.snapshots`: create, list, get, restore, delete."""

    def create(
        self,
        instance_id: str,
        *,
        name: str | None = None,
        compression: str | None = None,
        idempotency_key: str | None = None,
    ) -> Snapshot:
        body = calls.without_none(instance_id=instance_id, name=name, compression=compression)
        return self._wrap(self._run(calls.send(calls.CREATE_SNAPSHOT, body, creates=True), idempotency_key))

    def list(
        self, *, instance_id: str | None = None, per_page: int = DEFAULT_PER_PAGE
    ) -> PageIterator[Snapshot]:
        filters = {"instance_id": instance_id}
        return PageIterator(
            lambda number: self._run(calls.page(calls.LIST_SNAPSHOTS, number, per_page, filters)),
            self._wrap,
        )

    def get(self, snapshot_id: str) -> Snapshot:
        return self._wrap(self._run(calls.get(calls.GET_SNAPSHOT, snapshot_id=snapshot_id)))

    def restore(self, snapshot_id: str, *, instance_id: str | None = None) -> Snapshot:
        """Restores onto `instance_id` (the snapshot's own instance when left out)."""
        body = calls.without_none(instance_id=instance_id)
        return self._wrap(self._run(calls.send(calls.RESTORE_SNAPSHOT, body, snapshot_id=snapshot_id)))

    def delete(self, snapshot_id: str) -> Snapshot:
        return self._wrap(self._run(calls.send(calls.DELETE_SNAPSHOT, snapshot_id=snapshot_id)))

    def _wrap(self, data: dict[str, Any]) -> Snapshot:
        return Snapshot(data, self._client)


class Serverless(Resource):
    """`client.serverless`: hibernate by itself when idle."""

    def enable(
        self,
        instance_id: str,
        *,
        idle_timeout_minutes: float | None = None,
        gpu_threshold: float | None = None,
    ) -> ServerlessStatus:
        body = calls.without_none(
            instance_id=instance_id, idle_timeout_minutes=idle_timeout_minutes, gpu_threshold=gpu_threshold
        )
        return ServerlessStatus(self._run(calls.send(calls.SERVERLESS_ENABLE, body)))

    def disable(self, instance_id: str) -> ServerlessStatus:
        return ServerlessStatus(self._run(calls.send(calls.SERVERLESS_DISABLE, {"instance_id": instance_id})))

    def status(self, instance_id: str) -> ServerlessStatus:
        return ServerlessStatus(self._run(calls.get(calls.SERVERLESS_STATUS, instance_id=instance_id)))

    def pause(self, instance_id: str) -> ServerlessStatus:
        return ServerlessStatus(self._run(calls.send(calls.SERVERLESS_PAUSE, instance_id=instance_id)))

    def resume(self, instance_id: str) -> ServerlessStatus:
        return ServerlessStatus(self._run(calls.send(calls.SERVERLESS_RESUME, instance_id=instance_id)))


class Failover(Resource):
    """`client.failover`: configure, status, trigger."""

    def configure(
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
        return FailoverStatus(self._run(calls.send(calls.FAILOVER_CONFIGURE, body)))

    def status(self, instance_id: str) -> FailoverStatus:
        return FailoverStatus(self._run(calls.get(calls.FAILOVER_STATUS, instance_id=instance_id)))

    def trigger(self, instance_id: str) -> FailoverStatus:
        return FailoverStatus(self._run(calls.send(calls.FAILOVER_TRIGGER, instance_id=instance_id)))
