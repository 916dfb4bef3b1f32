"""The sync client: `Client(api_key=...)` (seed 003) or `DumontClient(api_key=...)` (seeds 000, 001)."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from dumont._account import ApiKeys, Billing, Market, Offers, Roles, Savings, Teams, Webhooks
from dumont._calls import data
from dumont._compute import Failover, Instances, Serverless, Snapshots
from dumont._keys_and_advice import Advisor, SshKeys
from dumont._objects import ApiObject
from dumont._transport import Call, Settings, SyncTransport
from dumont.errors import NotReadyError, WaitTimeoutError


class Client:
    """Everything the Dumont Cloud API serves, as resources.

    The key comes from `api_key=` or DUMONT_API_KEY, the address from `base_url=` or DUMONT_API_URL
    (https://dumontcloud.com by default). `max_retries=3` retries an answer 429 up to three times,
    each after the `Retry-After` the API sent; by default a 429 raises RateLimitError at once.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int = 0,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._settings = Settings.build(api_key, base_url, timeout, max_retries)
        self._transport = SyncTransport(self._settings, http_client)
        self.instances = Instances(self)
        self.snapshots = Snapshots(self)
        self.serverless = Serverless(self)
        self.failover = Failover(self)
        self.savings = Savings(self)
        self.billing = Billing(self)
        self.market = Market(self)
        self.offers = Offers(self)
        self.teams = Teams(self)
        self.roles = Roles(self)
        self.api_keys = ApiKeys(self)
        self.webhooks = Webhooks(self)
        self.ssh_keys = SshKeys(self)
        self.advisor = Advisor(self)

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> Any:
        """Any route, for what the resources do not cover yet; answers the envelope's `data`."""
        return self._transport.run(Call((method, path), data, params=params, body=json))

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _wait(
        self,
        target: ApiObject,
        done: Callable[[], bool],
        dead_ends: frozenset[str],
        timeout: float,
        poll_interval: float,
    ) -> None:
        clock, sleep = self._settings.clock, self._settings.sleep
        deadline = clock() + timeout
        while True:
            target.refresh()
            if done():
                return
            _check_not_stuck(target, dead_ends)
            if clock() >= deadline:
                raise _timed_out(target, timeout)
            sleep(poll_interval)


class DumontClient(Client):
    """The same client under the name seeds 000 and 001 use."""


def _check_not_stuck(target: ApiObject, dead_ends: frozenset[str]) -> None:
    status = target._data.get("status")
    if status in dead_ends:
        reason = target._data.get("status_reason")
        raise NotReadyError(
            f"{target._data.get('id')} is {status}" + (f": {reason}" if reason else ""),
            code="NOT_READY",
            details={"status": status, "status_reason": reason},
        )


def _timed_out(target: ApiObject, timeout: float) -> WaitTimeoutError:
    status = target._data.get("status")
    return WaitTimeoutError(
        f"{target._data.get('id')} is still {status} after {timeout:g} s",
        code="WAIT_TIMEOUT",
        details={"status": status},
    )
