"""API Gateway REQUEST authorizer: who is calling, from a bearer token or an API key.

Accepted: `Authorization: Bearer <access token>`, `Authorization: Bearer dumont_sk_…` and
`X-API-Key: dumont_sk_…` (API keys only: an access token there is refused); and
`Authorization: Bearer dumont_ag_…` from an instance's agent. A request with `?demo=true` and no
credentials (or credentials refused) is demo mode: admitted as the demo caller, limited per source
address, and named to API Gateway by the demo usage plan's key.
For people, one conditional UpdateItem on the caller's seat checks the credential is
still good and counts the request against the plan. The principal (account, team, role,
permissions, plan) and the rate-limit window reach the API function in the request context; a
request over the limit is let through marked as such, so the API answers 429 with `Retry-After`
without running it. Anything else is refused with API Gateway's 401 (`Unauthorized`).
"""

from dumont_core.platform.coldstart import first_call_long_lived, long_lived

with long_lived():
    from collections.abc import Mapping
    from typing import Any

    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerRequestEvent,
        APIGatewayAuthorizerResponse,
    )
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from dumont_core import composition
    from dumont_core.access.context import principal_context, rate_context
    from dumont_core.access.credentials import credential_in
    from dumont_core.instances.agent_tokens import looks_like_agent_token
    from dumont_core.platform.identity import Principal
    from dumont_core.platform.observability import observed
    from dumont_core.platform.settings import AuthorizerSettings, DemoSettings, load_settings

    logger = Logger()
    # Checked at cold start: a missing variable stops the function before its first request.
    load_settings(AuthorizerSettings)

# API Gateway answers 401 when an authorizer raises exactly this.
UNAUTHORIZED = "Unauthorized"


def credential_from(headers: Mapping[str, str] | None) -> str | None:
    return credential_in(headers)


def demo_requested(query: Mapping[str, str] | None) -> bool:
    return str((query or {}).get("demo", "")).strip().lower() == "true"


@first_call_long_lived
@observed(logger)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayAuthorizerRequestEvent(event)
    credential = credential_from(request.headers)
    principal: Principal | None = None
    rate: dict[str, str | int | bool] = {}
    usage_key: str | None = None
    if credential and looks_like_agent_token(credential):
        # An instance's agent: scoped to that instance, and not counted against anyone's plan.
        principal = composition.agents().authenticate(credential)
    elif credential:
        admission = composition.access().admit(credential)
        if admission is not None:
            principal, usage_key = admission.principal, admission.usage_key
            rate = rate_context(admission.rate)
    if principal is None and demo_requested(request.query_string_parameters):
        # Demo mode without credentials, or with ones refused (demo data needs none, so a stale token does
        # not stand in the way): fictitious data only, each address within its allowance. Loaded here: a
        # member's request never needs it.
        from dumont_core.demo.models import DEMO_PRINCIPAL

        principal = DEMO_PRINCIPAL
        rate = rate_context(composition.access().admit_demo(request.request_context.identity.source_ip))
        usage_key = load_settings(DemoSettings).demo_usage_key
    if principal is None:
        logger.info("Refused credentials", extra={"had_credential": credential is not None})
        raise Exception(UNAUTHORIZED)
    arn = request.parsed_arn
    response = APIGatewayAuthorizerResponse(
        principal_id=principal.account_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=principal_context(principal) | rate,
    )
    # The answer is never cached (each request is counted against the plan), so one policy for all
    # routes is as narrow as one per route.
    response.allow_all_routes()
    answer = response.asdict()
    if usage_key is not None:
        answer["usageIdentifierKey"] = usage_key
    return answer
