"""One cold start, run as `python -m benchmarks.cold_child api|baseline` in a fresh process.

- `api`: import the API Lambda's module and handle its first request, a `GET /api/v1/instances`
  REST proxy event from a caller identified by API key, which queries DynamoDB;
- `baseline`: `import boto3` and create a DynamoDB client, the least any Python function touching
  DynamoDB does.

The process times its two phases itself and prints them as one `RESULT_PREFIX` line on stdout (the
handler's own log lines may precede it), with the wall-clock times at which this module was loaded
and at which it finished, so the parent can tell interpreter start-up and exit apart. Only a few
standard library modules are imported before that, the same for both modes.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

RESULT_PREFIX = "COLD_START_RESULT "
MODES = ("api", "baseline")
FUNCTION_NAME = "DumontCloud-Api"
BENCH_ACCOUNT = "acct_coldstart"
BENCH_TEAM = "team_coldstart"
LOADED_AT = time.time()


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that the handler and Powertools read."""

    function_name: str = FUNCTION_NAME
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name: str = "cold-start"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def list_instances_event() -> dict[str, Any]:
    """What API Gateway sends for `GET /api/v1/instances` with a valid API key."""
    # Imported here: the baseline process imports nothing of ours.
    from dumont_core.access.permissions import ADMIN, SYSTEM_ROLES

    now = time.time()
    headers = {"Accept": "application/json", "Host": "api.local", "X-API-Key": "dumont_sk_cold_start"}
    return {
        "resource": "/api/v1/instances",
        "path": "/api/v1/instances",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/api/v1/instances",
            "httpMethod": "GET",
            "path": "/prod/api/v1/instances",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "coldstart",
            "protocol": "HTTP/1.1",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "domainName": "api.local",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "cold-start-bench"},
            # What the REQUEST authorizer hands the API function for the caller.
            "authorizer": {
                "principalId": BENCH_ACCOUNT,
                "account_id": BENCH_ACCOUNT,
                "team_id": BENCH_TEAM,
                "role": "admin",
                "plan": "free",
                "permissions": " ".join(sorted(SYSTEM_ROLES[ADMIN])),
                "rate_limit": 60,
                "rate_remaining": 59,
                "rate_reset": int(now) // 60 * 60 + 60,
                "rate_limited": "false",
            },
        },
        "body": None,
        "isBase64Encoded": False,
    }


def run_api() -> tuple[float, float]:
    event, context = list_instances_event(), LambdaContext()
    started = time.perf_counter()
    from api.handler import lambda_handler

    imported = time.perf_counter()
    response = lambda_handler(event, context)  # type: ignore[arg-type]
    answered = time.perf_counter()
    if response.get("statusCode") != 200:
        raise SystemExit(f"the first request failed: {response.get('statusCode')} {response.get('body')}")
    return imported - started, answered - imported


def run_baseline() -> tuple[float, float]:
    started = time.perf_counter()
    import boto3

    imported = time.perf_counter()
    boto3.client("dynamodb")
    return imported - started, time.perf_counter() - imported


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in MODES:
        raise SystemExit(f"usage: python -m benchmarks.cold_child {'|'.join(MODES)}")
    import_seconds, first_seconds = run_api() if argv[0] == "api" else run_baseline()
    result = {
        "mode": argv[0],
        "loaded_at": LOADED_AT,
        "import_seconds": import_seconds,
        "first_seconds": first_seconds,
        "finished_at": time.time(),
    }
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
