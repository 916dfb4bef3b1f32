"""Lambda entry point for every step of the instance state machines (see `workflows.steps`)."""

from dumont_core.platform.coldstart import first_call_long_lived, long_lived

with long_lived():
    from typing import Any

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.parser import event_parser
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dumont_core.platform.observability import observed
    from dumont_core.platform.settings import InstanceTasksSettings, load_settings
    from workflows.steps import StepInput, run_step

    logger = Logger()
    # Checked at cold start: a missing variable stops the function before its first step.
    load_settings(InstanceTasksSettings)


@first_call_long_lived
@observed(logger, correlation_id_path="instance.instance_id")
@event_parser(model=StepInput)
def lambda_handler(event: StepInput, context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(step=event.step, team_id=event.instance.team_id)
    return run_step(event)
