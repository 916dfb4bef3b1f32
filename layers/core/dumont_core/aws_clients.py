"""boto3 clients made once per process, on first use.

Creating clients from boto3's default session is not thread-safe. A Lambda invocation runs one
request at a time, but the local stack runs many handlers in threads of one process, so creation
is serialised here.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3

_creating = threading.Lock()


@cache
def aws_client(service: str) -> Any:
    with _creating:
        return boto3.session.Session().client(service)  # type: ignore[call-overload]
