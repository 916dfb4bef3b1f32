"""What the API answers, as objects: instances and snapshots (with their actions), and the rest."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from dumont._objects import ApiObject, Record

if TYPE_CHECKING:
    from dumont.aio import AsyncClient
    from dumont.client import Client

READY = "running"
# States an instance does not leave for `running` by itself: a wake that could not restore leaves it
# hibernated, a start that could not rent leaves it stopped.
INSTANCE_DEAD_ENDS = frozenset({"failed", "deleted", "deleting", "stopped", "hibernated"})
HIBERNATED = "hibernated"
# A hibernation that fails leaves the machine running (status_reason says why).
HIBERNATE_FAILED = frozenset({"running", "failed", "deleted", "deleting"})
SNAPSHOT_DONE = "completed"
SNAPSHOT_DEAD_ENDS = frozenset({"failed"})


class InstanceData(ApiObject):
    """An instance's fields; `ip` is `ip_address` as the seeds spell it."""

    SCHEMA = ("InstanceDetailView", "InstanceView", "CreatedInstanceView")

    id: str
    name: str | None
    status: str
    gpu: str
    gpu_type: str
    region: str | None
    ip: str | None
    ip_address: str | None
    ssh_port: int | None
    ssh_command: str | None
    jupyter_url: str | None
    cost_per_hour: float | None
    cost_accumulated: float
    status_reason: str | None
    image: str
    disk_gb: int
    num_gpus: int
    created_at: str
    estimated_ready_seconds: int
    failover: Record
    serverless: Record
    metrics: Record

    @property
    def created(self) -> datetime | None:
        raw = self._data.get("created_at")
        return datetime.fromisoformat(raw) if raw else None


class Instance(InstanceData):
    """An instance of the sync client: `hibernate()`, `wake()`, `wait_until_ready()`, `refresh()`, …"""

    _client: Client

    def __init__(self, data: dict[str, Any], client: Client) -> None:
        super().__init__(data)
        object.__setattr__(self, "_client", client)

    def refresh(self) -> Instance:
        self._replace(self._client.instances.get(self.id).to_dict())
        return self

    def hibernate(self, wait: bool = True, timeout: float = 600, poll_interval: float = 2.0) -> Instance:
        """Snapshots the workspace, verifies it, then gives the machine back; unless `wait=False`, returns
        once the instance is `hibernated` (NotReadyError if the hibernation failed: it runs on)."""
        self._client.instances.hibernate(self.id)
        if not wait:
            return self.refresh()
        self._client._wait(self, lambda: self.status == HIBERNATED, HIBERNATE_FAILED, timeout, poll_interval)
        return self

    def wake(self) -> Instance:
        self._client.instances.wake(self.id)
        return self.refresh()

    def stop(self) -> Instance:
        self._replace(self._client.instances.stop(self.id).to_dict())
        return self

    def start(self) -> Instance:
        self._replace(self._client.instances.start(self.id).to_dict())
        return self

    def reboot(self) -> Instance:
        self._replace(self._client.instances.reboot(self.id).to_dict())
        return self

    def delete(self) -> Instance:
        self._replace(self._client.instances.delete(self.id).to_dict())
        return self

    def wait_until_ready(self, timeout: float = 600, poll_interval: float = 2.0) -> Instance:
        """Polls until the instance is `running`; WaitTimeoutError past `timeout` seconds, NotReadyError
        if it ends where it will not run by itself (failed, deleted, stopped, hibernated)."""
        self._client._wait(self, lambda: self.status == READY, INSTANCE_DEAD_ENDS, timeout, poll_interval)
        return self

    def wait_until_status(self, *statuses: str, timeout: float = 600, poll_interval: float = 2.0) -> Instance:
        self._client._wait(self, lambda: self.status in statuses, frozenset(), timeout, poll_interval)
        return self


class SnapshotData(ApiObject):
    SCHEMA = ("SnapshotView",)

    id: str
    instance_id: str
    name: str | None
    status: str
    status_reason: str | None
    compression: str
    compression_ratio: float | None
    size_bytes: int | None
    size_gb: float | None
    uploaded_bytes: int
    file_count: int | None
    created_at: str
    completed_at: str | None


class Snapshot(SnapshotData):
    """A snapshot of the sync client: `wait_until_complete()`, `refresh()`, `restore()`, `delete()`."""

    _client: Client

    def __init__(self, data: dict[str, Any], client: Client) -> None:
        super().__init__(data)
        object.__setattr__(self, "_client", client)

    def refresh(self) -> Snapshot:
        self._replace(self._client.snapshots.get(self.id).to_dict())
        return self

    def wait_until_complete(self, timeout: float = 300, poll_interval: float = 2.0) -> Snapshot:
        """Polls until `completed`; WaitTimeoutError past `timeout` seconds, NotReadyError if it failed."""
        self._client._wait(
            self, lambda: self.status == SNAPSHOT_DONE, SNAPSHOT_DEAD_ENDS, timeout, poll_interval
        )
        return self

    def restore(self, instance_id: str | None = None) -> Snapshot:
        return self._client.snapshots.restore(self.id, instance_id=instance_id)

    def delete(self) -> None:
        self._client.snapshots.delete(self.id)


class AsyncInstance(InstanceData):
    """An instance of the async client: the same actions, awaited."""

    _client: AsyncClient

    def __init__(self, data: dict[str, Any], client: AsyncClient) -> None:
        super().__init__(data)
        object.__setattr__(self, "_client", client)

    async def refresh(self) -> AsyncInstance:
        self._replace((await self._client.instances.get(self.id)).to_dict())
        return self

    async def hibernate(
        self, wait: bool = True, timeout: float = 600, poll_interval: float = 2.0
    ) -> AsyncInstance:
        await self._client.instances.hibernate(self.id)
        if not wait:
            return await self.refresh()
        await self._client._wait(
            self, lambda: self.status == HIBERNATED, HIBERNATE_FAILED, timeout, poll_interval
        )
        return self

    async def wake(self) -> AsyncInstance:
        await self._client.instances.wake(self.id)
        return await self.refresh()

    async def stop(self) -> AsyncInstance:
        self._replace((await self._client.instances.stop(self.id)).to_dict())
        return self

    async def start(self) -> AsyncInstance:
        self._replace((await self._client.instances.start(self.id)).to_dict())
        return self

    async def reboot(self) -> AsyncInstance:
        self._replace((await self._client.instances.reboot(self.id)).to_dict())
        return self

    async def delete(self) -> AsyncInstance:
        self._replace((await self._client.instances.delete(self.id)).to_dict())
        return self

    async def wait_until_status(
        self, *statuses: str, timeout: float = 600, poll_interval: float = 2.0
    ) -> AsyncInstance:
        await self._client._wait(self, lambda: self.status in statuses, frozenset(), timeout, poll_interval)
        return self

    async def wait_until_ready(self, timeout: float = 600, poll_interval: float = 2.0) -> AsyncInstance:
        await self._client._wait(
            self, lambda: self.status == READY, INSTANCE_DEAD_ENDS, timeout, poll_interval
        )
        return self


class AsyncSnapshot(SnapshotData):
    _client: AsyncClient

    def __init__(self, data: dict[str, Any], client: AsyncClient) -> None:
        super().__init__(data)
        object.__setattr__(self, "_client", client)

    async def refresh(self) -> AsyncSnapshot:
        self._replace((await self._client.snapshots.get(self.id)).to_dict())
        return self

    async def wait_until_complete(self, timeout: float = 300, poll_interval: float = 2.0) -> AsyncSnapshot:
        await self._client._wait(
            self, lambda: self.status == SNAPSHOT_DONE, SNAPSHOT_DEAD_ENDS, timeout, poll_interval
        )
        return self

    async def restore(self, instance_id: str | None = None) -> AsyncSnapshot:
        return await self._client.snapshots.restore(self.id, instance_id=instance_id)

    async def delete(self) -> None:
        await self._client.snapshots.delete(self.id)


# The other answers, importable from here too.
from dumont.records import (  # noqa: E402
    ApiKey,
    Balance,
    Delivery,
    FailoverStatus,
    Forecast,
    GpuAdvice,
    Hibernation,
    HibernationHistory,
    MarketPrice,
    MarketSummary,
    Member,
    Offer,
    PlanChange,
    Role,
    SavingsDashboard,
    SavingsSummary,
    ServerlessStatus,
    SshKey,
    Team,
    Wake,
    Webhook,
)

__all__ = [
    "ApiKey",
    "AsyncInstance",
    "AsyncSnapshot",
    "Balance",
    "Delivery",
    "FailoverStatus",
    "Forecast",
    "GpuAdvice",
    "Hibernation",
    "HibernationHistory",
    "Instance",
    "InstanceData",
    "MarketPrice",
    "MarketSummary",
    "Member",
    "Offer",
    "PlanChange",
    "Role",
    "SavingsDashboard",
    "SavingsSummary",
    "ServerlessStatus",
    "Snapshot",
    "SnapshotData",
    "SshKey",
    "Team",
    "Wake",
    "Webhook",
]
