"""Runs on a schedule: hibernate idle serverless instances, and sweep chunks no snapshot uses any more."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from dumont_core.services.serverless_factory import serverless_service
from dumont_core.services.snapshot_factory import snapshot_service

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    hibernating = serverless_service().check_idle()
    if hibernating:
        logger.info("Idle instances hibernating", extra={"instances": hibernating})
    swept = snapshot_service().sweep_pending()
    if swept:
        logger.info("Swept unused chunks", extra={"chunks_by_team": swept})
    return {"hibernating": hibernating, "swept": swept}
