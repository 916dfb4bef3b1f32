"""Live metrics over WebSocket: who may watch an instance, and each heartbeat pushed to its watchers.

A connection is let in with the credentials of the REST API (an access token or an API key), checked
and counted by the access service as any request is, and only onto an instance of the caller's team.
Each heartbeat the instance's agent sends is pushed to its connections through a publisher (a port:
API Gateway's Management API in AWS, the local stack's server on `make run`); a connection that is gone
is forgotten. Pushing never fails a heartbeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from dumont_core.access.models import Admission
from dumont_core.instances.charges import cost_accumulated_at
from dumont_core.instances.models import Instance, reading_value
from dumont_core.live.models import LiveConnection, LiveMetrics, LiveMetricsPublisher
from dumont_core.live.repository import ConnectionRepository
from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.errors import Forbidden, RateLimited, Unauthenticated
from dumont_core.platform.identity import Principal

logger = Logger(child=True)

VIEW_PERMISSION = "instances.view"
MAX_PARALLEL_SENDS = 16
NO_CREDENTIAL = (
    "Send an access token or API key: `?token=…` on the URL (browsers cannot set headers on a WebSocket), "
    "`Authorization: Bearer …` or `X-API-Key: dumont_sk_…`"
)


class Admitter(Protocol):
    def admit(self, credential: str) -> Admission | None: ...


class Instances(Protocol):
    def get(self, principal: Principal, instance_id: str) -> Instance: ...


class Watchers(Protocol):
    """Which connections an instance's heartbeats are pushed to, kept by the instances domain."""

    def watch(self, team_id: str, instance_id: str, connection_id: str) -> None: ...

    def unwatch(self, team_id: str, instance_id: str, connection_id: str) -> None: ...


@dataclass(frozen=True, kw_only=True)
class LiveMetricsService:
    access: Admitter
    instances: Instances
    watchers: Watchers
    connections: ConnectionRepository
    publisher: LiveMetricsPublisher
    margin: float = 0.0
    """The platform's margin on machines (`PLATFORM_MARGIN`): the cost shown is the cost charged."""
    clock: Clock = utc_now

    def connect(self, credential: str | None, instance_id: str, connection_id: str) -> LiveConnection:
        """Let the connection watch the instance: Unauthenticated without a valid credential, RateLimited
        past the caller's plan, Forbidden without `instances.view`, InstanceNotFound for an instance not
        of the caller's team, TooManyWatchers past the instance's bound. The connection is kept only when
        it is let in."""
        principal = self._admitted(credential)
        if not principal.may(VIEW_PERMISSION):
            raise Forbidden(
                f"Your role {principal.role} may not watch instances (needs {VIEW_PERMISSION})",
                details={"permission": VIEW_PERMISSION, "role": principal.role},
            )
        instance = self.instances.get(principal, instance_id)
        connection = LiveConnection(
            connection_id=connection_id,
            instance_id=instance.instance_id,
            team_id=principal.team_id,
            account_id=principal.account_id,
            connected_at=self.clock(),
        )
        # Kept first, so that a connection the instance counts among its watchers can always be found
        # when it closes; given up if the instance will not have it.
        self.connections.add(connection)
        try:
            self.watchers.watch(connection.team_id, connection.instance_id, connection_id)
        except Exception:
            self.connections.remove(connection_id)
            raise
        return connection

    def disconnect(self, connection_id: str) -> None:
        connection = self.connections.find(connection_id)
        if connection is not None:
            self._forget(connection.team_id, connection.instance_id, connection_id)

    def publish(self, instance: Instance, reading: Mapping[str, Any]) -> int:
        """Push the heartbeat's reading to every connection watching the instance (as the heartbeat read
        it); how many got it. Never raises: a heartbeat is answered whatever becomes of its live metrics."""
        try:
            if not instance.watchers:
                return 0
            message = self._message(instance, reading).model_dump_json().encode()
            if len(instance.watchers) == 1:
                return int(self._send(instance, instance.watchers[0], message))
            with ThreadPoolExecutor(min(len(instance.watchers), MAX_PARALLEL_SENDS), "live-metrics") as pool:
                return sum(pool.map(lambda each: self._send(instance, each, message), instance.watchers))
        except Exception:
            logger.exception("Live metrics were not pushed", extra={"instance_id": instance.instance_id})
            return 0

    def _admitted(self, credential: str | None) -> Principal:
        if not credential:
            raise Unauthenticated(NO_CREDENTIAL)
        admission = self.access.admit(credential)
        if admission is None:
            raise Unauthenticated("This access token or API key is unknown, revoked or expired")
        if admission.rate.limited:
            retry_after = admission.rate.retry_after(self.clock())
            raise RateLimited(
                f"Your plan allows {admission.rate.limit} requests in this window; retry in {retry_after} s",
                details={"limit": admission.rate.limit, "retry_after": retry_after},
            )
        return admission.principal

    def _message(self, instance: Instance, reading: Mapping[str, Any]) -> LiveMetrics:
        now = self.clock()
        return LiveMetrics(
            timestamp=LiveMetrics.timestamp_of(now),
            gpu_utilization=reading_value(reading, "gpu_utilization"),
            vram_used_gb=reading_value(reading, "gpu_memory_used_gb"),
            cost_accumulated=cost_accumulated_at(instance, now, self.margin),
        )

    def _send(self, instance: Instance, connection_id: str, message: bytes) -> bool:
        try:
            delivered = self.publisher.send(connection_id, message)
        except Exception:
            logger.warning("Live metrics not pushed to a connection", extra={"connection_id": connection_id})
            return False
        if not delivered:
            # Gone (closed without a goodbye, or past API Gateway's limits): nobody will read it again.
            self._forget(instance.team_id, instance.instance_id, connection_id)
        return delivered

    def _forget(self, team_id: str, instance_id: str, connection_id: str) -> None:
        # The instance lets go of it first: a connection left kept but watching nothing expires unseen.
        self.watchers.unwatch(team_id, instance_id, connection_id)
        self.connections.remove(connection_id)
