"""AWS clients made once per process, on first use.

botocore, not boto3: the functions need clients only, and boto3 adds its resource layer and S3
transfer manager to every cold start. Creating clients from one session is not thread-safe; a Lambda
invocation runs one request at a time, but the local stack runs many handlers in threads of one
process, so creation is serialised here.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any

_creating = threading.Lock()
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"


def aws_client(service: str) -> Any:
    # Keyed by the configured endpoint too: a process that points AWS elsewhere (the local stack
    # starting after code that talked to another AWS) gets clients for where AWS now is.
    if service == "dynamodb":
        # The one the table's items use: making a client is most of a cold start's first request.
        from dumont_core.platform.dynamodb import shared_connection

        return shared_connection().client
    return _client_for(service, configured_endpoint())


def configured_endpoint() -> str | None:
    return os.environ.get(ENDPOINT_VARIABLE)


@cache
def _client_for(service: str, endpoint: str | None) -> Any:
    with creating_clients():
        return aws_session(endpoint).create_client(service)


def creating_clients() -> threading.Lock:
    """Held while a client is made from the shared session."""
    return _creating


@cache
def aws_session(endpoint: str | None) -> Any:
    """One botocore session for every client, DynamoDB's too: each session loads the endpoint rules and
    service models again."""
    import botocore.session

    return botocore.session.get_session()


def aws_region() -> str | None:
    """The region the functions run in, as Lambda sets it."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
