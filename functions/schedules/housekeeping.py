"""Runs on a schedule: charge every running instance's use so far (hibernating those whose team's money
ran out), hibernate idle serverless instances, take the checkpoints that are due, keep the failover
standbys ready, and sweep chunks no snapshot uses any more."""

from dumont_core.platform.coldstart import first_call_long_lived, long_lived

with long_lived():
    from typing import Any

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dumont_core import composition
    from dumont_core.platform.observability import observed
    from dumont_core.platform.settings import HousekeepingSettings, load_settings

    logger = Logger()
    # Checked at cold start: a missing variable stops the function before its first run.
    load_settings(HousekeepingSettings)


@first_call_long_lived
@observed(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    out_of_credit = composition.billing().settle_running()
    if out_of_credit:
        logger.info("Instances hibernating for lack of credit", extra={"instances": out_of_credit})
    hibernating = composition.serverless().check_idle()
    if hibernating:
        logger.info("Idle instances hibernating", extra={"instances": hibernating})
    checkpoints = composition.checkpoints().take_due()
    if checkpoints:
        logger.info("Checkpoints started", extra={"snapshots": checkpoints})
    standing_by = composition.failover_recovery().keep_ready()
    unkept = composition.cpu_standby().sweep()
    if unkept:
        logger.info("CPU standbys nobody keeps terminated", extra={"machines": unkept})
    swept = composition.snapshot_steps().sweep_pending()
    if swept:
        logger.info("Swept unused chunks", extra={"chunks_by_team": swept})
    return {
        "out_of_credit": out_of_credit,
        "hibernating": hibernating,
        "checkpoints": checkpoints,
        "standing_by": standing_by,
        "unkept_standbys_terminated": unkept,
        "swept": swept,
    }
