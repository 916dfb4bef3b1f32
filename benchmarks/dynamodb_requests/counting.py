"""Counting the AWS calls the API function and the authorizer make for each of the bench's requests.

Every AWS call goes through botocore's `BaseClient._make_api_call` (pynamodb's included); it is
wrapped to count calls into a thread-local counter. The counter is active only while the API
function or the authorizer runs for a request the bench sent, in the thread that runs it: the
workflows that Step Functions runs at the same time call AWS from other threads and are not counted.
Retries inside botocore count once.

The agents on the simulated machines call the API on their own, every few seconds, while the bench
runs. So each request of the bench carries a marker header with a number of its own; only the API and
authorizer runs whose event carries a marker are counted, and an authorizer run is paired with the
API run that carries the same marker.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeAlias
from unittest import mock

from botocore.client import BaseClient

AwsCalls: TypeAlias = Counter[tuple[str, str]]
"""How many calls of each (service, operation)."""

BENCH_REQUEST_HEADER = "X-Bench-Request"

_counting = threading.local()


def _counter() -> AwsCalls | None:
    counter: AwsCalls | None = getattr(_counting, "counter", None)
    return counter


@contextmanager
def counting_aws_calls() -> Iterator[None]:
    """Count every botocore call made while a thread's counter is active."""
    original = vars(BaseClient)["_make_api_call"]

    def make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        counter = _counter()
        if counter is not None:
            counter[(client.meta.service_model.service_name, operation_name)] += 1
        return original(client, operation_name, api_params)

    with mock.patch.object(BaseClient, "_make_api_call", make_api_call):
        yield


@dataclass(frozen=True)
class Invocation:
    method: str
    resource: str
    calls: AwsCalls
    authorizer_calls: AwsCalls | None
    """None: the route is public and no authorizer ran."""


def bench_marker(event: Any) -> str | None:
    """The marker of the bench's request that caused this invocation; None for anyone else's."""
    headers = event.get("headers") if isinstance(event, dict) else None
    for name, value in (headers or {}).items():
        # API Gateway passes header names as the client spelled them.
        if name.lower() == BENCH_REQUEST_HEADER.lower():
            return str(value)
    return None


class ApiInvocationRecorder:
    """Stands in for the runtime's `invoke`; counts AWS calls while the authorizer and the API
    function run for one of the bench's requests, and keeps them by the request's marker.

    Invocations without a marker (the machines' agents, housekeeping, workflows) run uncounted.
    """

    def __init__(
        self, invoke: Callable[[str, Any], Any], api_function_name: str, authorizer_name: str
    ) -> None:
        self._invoke = invoke
        self._api_function_name = api_function_name
        self._authorizer_name = authorizer_name
        self._lock = threading.Lock()
        self._invocations: dict[str, list[Invocation]] = {}
        self._authorizer_calls: dict[str, AwsCalls] = {}

    def __call__(self, function_name: str, event: Any) -> Any:
        measured = function_name in (self._api_function_name, self._authorizer_name)
        marker = bench_marker(event) if measured else None
        if marker is None:
            return self._invoke(function_name, event)
        calls: AwsCalls = Counter()
        outer = _counter()
        _counting.counter = calls
        try:
            return self._invoke(function_name, event)
        finally:
            _counting.counter = outer
            with self._lock:
                if function_name == self._authorizer_name:
                    self._authorizer_calls[marker] = calls
                else:
                    invocation = Invocation(
                        event["httpMethod"],
                        event["resource"],
                        calls,
                        self._authorizer_calls.pop(marker, None),
                    )
                    self._invocations.setdefault(marker, []).append(invocation)

    def take(self, marker: str) -> list[Invocation]:
        """The API runs the request with this marker caused (an authorizer run that refused it is dropped)."""
        with self._lock:
            self._authorizer_calls.pop(marker, None)
            return self._invocations.pop(marker, [])
