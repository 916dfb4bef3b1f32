"""API Gateway REST proxy events, as API Gateway hands them to the API function once the authorizer let
the caller in, and the Lambda context it is called with."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from dumont_core.access.context import principal_context
from dumont_core.platform.identity import Principal

ACCOUNT = "123456789012"


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "dumont-api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:dumont-api"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/aws/lambda/dumont-api"
    log_stream_name: str = "2026/12/02/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def filled(template: str, values: dict[str, str]) -> str:
    """`template` (`/api/v1/instances/{instance_id}`) with its parameters from `values`."""
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], template)


def rest_event(
    method: str,
    resource: str,
    path_values: dict[str, str] | None = None,
    *,
    principal: Principal | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The event of `method` on the route `resource`, called by `principal` (none: an anonymous caller)."""
    values = path_values or {}
    path = filled(resource, values)
    headers = {"Host": "api.example.com", "User-Agent": "pytest"}
    raw_body = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        raw_body = body if isinstance(body, str) else json.dumps(body)
    authorizer: dict[str, Any] = principal_context(principal) if principal else {}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {name: [value] for name, value in (query or {}).items()} or None,
        "pathParameters": {name: values[name] for name in re.findall(r"\{(\w+)\}", resource)} or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "dumontapi",
            "authorizer": authorizer,
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "pytest"},
            "path": f"/prod{path}",
            "protocol": "HTTP/1.1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTimeEpoch": 1_796_198_400_000,
            "resourcePath": resource,
            "stage": "prod",
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


def answer_body(answer: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(answer["body"])
    return body
