"""Runs our Lambda handlers in this process, the way the Lambda service would.

moto stores functions but cannot run Python code without Docker. Its Docker-free Lambda backend is
given this dispatcher instead, so a Step Functions Task that invokes a function runs the real
handler named in the deployment topology, and a handler's exception reaches Step Functions as a
function error whose `errorType` is the exception class name, exactly as in AWS.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from infra.topology import API_FUNCTION, FUNCTIONS

Handler = Callable[[Any, Any], Any]
logger = Logger(service="local-lambda")

ONE_AT_A_TIME = frozenset({API_FUNCTION.name})
"""Functions whose handler keeps the request it is answering in module state: the API's Powertools
resolver holds the current event on its module-level `app`. Lambda runs one invocation at a time in an
execution environment, so requests never share it there; here every request runs in a thread of one
process, so these functions' invocations take turns, or one request would be answered with another's
principal or route."""


@dataclass
class LocalLambdaContext:
    """The attributes of the Lambda context object our handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


class FunctionError(Exception):
    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage"))
        self.payload = payload


class LocalLambdaRuntime:
    def __init__(self, function_name_prefix: str, region: str, account_id: str) -> None:
        self._prefix = function_name_prefix
        self._region = region
        self._account_id = account_id
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._turns = {self.deployed_name(name): threading.Lock() for name in ONE_AT_A_TIME}

    def deployed_name(self, spec_name: str) -> str:
        return f"{self._prefix}{spec_name}"

    def _handler(self, function_name: str) -> tuple[Handler, LocalLambdaContext]:
        spec = next((spec for spec in FUNCTIONS if self.deployed_name(spec.name) == function_name), None)
        if spec is None:
            raise LookupError(f"no function named {function_name}")
        with self._lock:
            if function_name not in self._handlers:
                module_name, _, attribute = spec.handler.rpartition(".")
                self._handlers[function_name] = getattr(importlib.import_module(module_name), attribute)
        context = LocalLambdaContext(
            function_name=function_name,
            memory_limit_in_mb=spec.memory_mb,
            timeout_seconds=spec.timeout_seconds,
            invoked_function_arn=f"arn:aws:lambda:{self._region}:{self._account_id}:function:{function_name}",
        )
        return self._handlers[function_name], context

    def invoke(self, function_name: str, event: Any) -> Any:
        """Run the handler; raises FunctionError with Lambda's error payload if it raised."""
        handler, context = self._handler(function_name)
        try:
            with self._turns.get(function_name) or contextlib.nullcontext():
                return handler(event, context)
        except Exception as error:
            payload = {
                "errorType": type(error).__name__,
                "errorMessage": str(error),
                "stackTrace": traceback.format_exception(error)[-5:],
            }
            logger.info("Function error", extra={"function": function_name, "error": payload["errorType"]})
            raise FunctionError(payload) from error

    def moto_invoke(
        self, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        """Signature of moto's Lambda backend `invoke`."""
        name = function_name.split(":function:")[-1].split(":")[0]
        raw = body.decode() if isinstance(body, bytes) else body
        event = json.loads(raw) if raw else {}
        try:
            result = self.invoke(name, event)
        except FunctionError as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(error.payload).encode()
        return json.dumps(result).encode()
