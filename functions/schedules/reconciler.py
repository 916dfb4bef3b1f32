"""Runs on a schedule: interrupts running instances whose machine died, and destroys the machines rented
under our labels that no instance owns any more, in several passes a few seconds apart."""

from dumont_core.platform.coldstart import first_call_long_lived, long_lived

with long_lived():
    import time
    from typing import Any

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dumont_core import composition
    from dumont_core.platform.observability import observed
    from dumont_core.platform.settings import ReconcilerSettings, load_settings

    logger = Logger()
    # Checked at cold start: a missing variable stops the function before its first run.
    settings = load_settings(ReconcilerSettings)


@first_call_long_lived
@observed(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reports = []
    for number in range(settings.watch_polls):
        if number:
            time.sleep(settings.watch_poll_seconds)
        report = composition.reconciler().reconcile()
        if report.destroyed or report.left or report.interrupted:
            logger.info("Machines reconciled", extra=report.model_dump())
        reports.append(report.model_dump())
    return {"passes": reports}
