"""Every handler logs in structure, and what one invocation adds to its logs stays with it."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from dumont_core.platform.observability import observed


@dataclass
class Context:
    """What Lambda hands a handler, as far as the logger reads it."""

    function_name: str = "DumontCloud-InstanceTasks"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:DumontCloud-InstanceTasks"
    aws_request_id: str = "request-1"


def test_keys_an_invocation_appends_are_gone_in_the_next() -> None:
    stream = io.StringIO()
    logger = Logger(service="test-observability", stream=stream, level="INFO")

    @observed(logger)
    def handler(event: dict[str, Any], context: Any) -> None:
        if "step" in event:
            logger.append_keys(step=event["step"])
        logger.info("ran")

    handler({"step": "rent_machine"}, Context())
    handler({}, Context(aws_request_id="request-2"))

    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["step"] == "rent_machine" and first["function_request_id"] == "request-1"
    assert "step" not in second, "a later invocation's logs do not carry the earlier one's step"
