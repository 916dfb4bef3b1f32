"""Requests and answers: the key, the base URL, retries on 429, idempotency keys, error envelopes.

A resource describes a request as a `Call` (route, parameters, body, how to read the answer); the sync
and the async transport each carry it out, so both clients share every resource's logic.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from dumont import __version__
from dumont._config import resolve_api_key, resolve_base_url
from dumont.errors import APIConnectionError, DumontError, RateLimitError, error_from_response

T = TypeVar("T")

# Every route the SDK calls, as (method, path template): a test checks each against the API's
# OpenAPI document, so the SDK cannot call a route the API does not serve.
ROUTES: set[tuple[str, str]] = set()
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TIMEOUT = 30.0
MAX_RETRY_WAIT_SECONDS = 120.0


def route(method: str, path: str) -> tuple[str, str]:
    ROUTES.add((method, path))
    return method, path


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how to read its answer's JSON."""

    route: tuple[str, str]
    read: Callable[[Any], T]
    path_params: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] | None = None
    body: Any = None
    creates: bool = False  # sent with an Idempotency-Key, the same on every retry

    @property
    def method(self) -> str:
        return self.route[0]

    @property
    def path(self) -> str:
        template = self.route[1]
        for name, value in self.path_params.items():
            template = template.replace("{" + name + "}", _segment(str(value)))
        return template


def _segment(value: str) -> str:
    """`value` as one path segment: a `/` or a lone `..` in an id never reaches another route."""
    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


@dataclass
class Settings:
    """What both transports share: where, who, and how patiently."""

    api_key: str
    base_url: str
    timeout: float
    max_retries: int
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def build(
        cls, api_key: str | None, base_url: str | None, timeout: float | None, max_retries: int
    ) -> Settings:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 (no retries) or more")
        return cls(
            api_key=resolve_api_key(api_key),
            base_url=resolve_base_url(base_url),
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            max_retries=max_retries,
        )

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": f"dumont-python/{__version__}",
        }


def _request_headers(call: Call[Any], idempotency_key: str | None) -> dict[str, str]:
    return {IDEMPOTENCY_HEADER: idempotency_key} if call.creates and idempotency_key else {}


def _params(call: Call[Any]) -> dict[str, Any] | None:
    if call.params is None:
        return None
    return {
        key: str(value).lower() if isinstance(value, bool) else value
        for key, value in call.params.items()
        if value is not None
    }


def _read(call: Call[T], response: httpx.Response) -> T:
    if response.status_code >= 400:
        raise error_from_response(response)
    try:
        body = response.json() if response.content else None
    except ValueError:
        raise DumontError(
            f"the API answered {call.method} {call.path} with something other than JSON",
            code="INVALID_RESPONSE",
            status=response.status_code,
        ) from None
    return call.read(body)


def _wait_before_retry(error: DumontError, attempt: int, settings: Settings) -> float | None:
    """Seconds to wait before sending again, or None to give up."""
    if not isinstance(error, RateLimitError) or attempt >= settings.max_retries:
        return None
    return min(error.retry_after, MAX_RETRY_WAIT_SECONDS)


class SyncTransport:
    def __init__(self, settings: Settings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.Client(
            base_url=settings.base_url, headers=settings.headers(), timeout=settings.timeout
        )

    def run(self, call: Call[T], idempotency_key: str | None = None) -> T:
        key = idempotency_key or str(uuid.uuid4())
        attempt = 0
        while True:
            try:
                response = self.http.request(
                    call.method,
                    call.path,
                    params=_params(call),
                    json=call.body,
                    headers=_request_headers(call, key),
                )
            except httpx.HTTPError as error:
                raise APIConnectionError(
                    f"could not reach {self.settings.base_url}: {error}", code="CONNECTION_ERROR"
                ) from error
            try:
                return _read(call, response)
            except DumontError as error:
                wait = _wait_before_retry(error, attempt, self.settings)
                if wait is None:
                    raise
            self.settings.sleep(wait)
            attempt += 1

    def close(self) -> None:
        self.http.close()


class AsyncTransport:
    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.AsyncClient(
            base_url=settings.base_url, headers=settings.headers(), timeout=settings.timeout
        )

    async def run(self, call: Call[T], idempotency_key: str | None = None) -> T:
        key = idempotency_key or str(uuid.uuid4())
        attempt = 0
        while True:
            try:
                response = await self.http.request(
                    call.method,
                    call.path,
                    params=_params(call),
                    json=call.body,
                    headers=_request_headers(call, key),
                )
            except httpx.HTTPError as error:
                raise APIConnectionError(
                    f"could not reach {self.settings.base_url}: {error}", code="CONNECTION_ERROR"
                ) from error
            try:
                return _read(call, response)
            except DumontError as error:
                wait = _wait_before_retry(error, attempt, self.settings)
                if wait is None:
                    raise
            if self.settings.sleep is time.sleep:
                await asyncio.sleep(wait)
            else:
                self.settings.sleep(wait)
            attempt += 1

    async def aclose(self) -> None:
        await self.http.aclose()
