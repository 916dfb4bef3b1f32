"""Runs on a schedule: hibernate the serverless instances whose GPU stayed idle for their whole window."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from dumont_core.services.serverless_factory import serverless_service

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    hibernated = serverless_service().check_idle()
    if hibernated:
        logger.info("Idle instances hibernating", extra={"instances": hibernated})
    return {"hibernating": hibernated}
