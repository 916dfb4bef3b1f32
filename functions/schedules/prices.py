"""Runs on a schedule: collects what every GPU type costs at each provider, and rolls up the hours that
ended since the last run."""

from dumont_core.platform.coldstart import first_call_long_lived, long_lived

with long_lived():
    from typing import Any

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dumont_core import composition
    from dumont_core.platform.observability import observed
    from dumont_core.platform.settings import PriceCollectorSettings, load_settings

    logger = Logger()
    # Checked at cold start: a missing variable stops the function before its first run.
    load_settings(PriceCollectorSettings)


@first_call_long_lived
@observed(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = composition.price_collector().collect()
    if report.gaps:
        logger.warning("Prices not collected", extra={"gaps": report.gaps})
    return report.model_dump(mode="json")
