"""Logging, tracing and metrics around every function's handler, from Powertools.

Tracing is applied only where it is on (in AWS, unless POWERTOOLS_TRACE_DISABLED says otherwise):
Powertools' Tracer imports the X-Ray SDK as soon as it is made, which a function with tracing off
would pay for at every cold start.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])
_TRUTHY = {"1", "true", "yes", "on"}


def tracing_enabled() -> bool:
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in _TRUTHY
    # Outside Lambda there is no X-Ray daemon to send traces to.
    return not disabled and bool(os.environ.get("LAMBDA_TASK_ROOT"))


def observed(
    logger: Logger, *, correlation_id_path: str | None = None, metrics: Metrics | None = None
) -> Callable[[HandlerT], HandlerT]:
    """Structured logs with the Lambda context and a correlation id, a trace where tracing is on, and
    the handler's metrics flushed after each invocation."""

    def decorate(handler: HandlerT) -> HandlerT:
        wrapped: Any = handler
        if metrics is not None:
            wrapped = metrics.log_metrics(wrapped)
        if tracing_enabled():
            from aws_lambda_powertools import Tracer

            wrapped = Tracer().capture_lambda_handler(wrapped)
        # Keys a handler appends (the workflow step, the team) are its invocation's, not the next one's.
        result: HandlerT = logger.inject_lambda_context(
            wrapped, correlation_id_path=correlation_id_path, clear_state=True
        )
        return result

    return decorate
