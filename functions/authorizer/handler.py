"""API Gateway REQUEST authorizer: who is calling, from a bearer token or an API key.

Accepted: `Authorization: Bearer <access token>`, `Authorization: Bearer dumont_sk_…` and
`X-API-Key: dumont_sk_…`. The principal's account, team, role and plan reach the API function in
the request context. Anything else is refused with API Gateway's 401 (`Unauthorized`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from dumont_core.access.factory import access_service
from dumont_core.settings import SECRET_CACHE_SECONDS, get_settings

logger = Logger()
tracer = Tracer()

# API Gateway answers 401 when an authorizer raises exactly this.
UNAUTHORIZED = "Unauthorized"


def credential_from(headers: Mapping[str, str] | None) -> str | None:
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    authorization = lowered.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = lowered.get("x-api-key", "").strip()
    return api_key or None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayAuthorizerRequestEvent(event)
    credential = credential_from(request.headers)
    principal = access_service().principal_for(credential) if credential else None
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
        context={
            "account_id": principal.account_id,
            "team_id": principal.team_id,
            "role": principal.role,
            "plan": principal.plan,
        },
    )
    # Were the answer cached, it would serve every route: the policy covers them all.
    response.allow_all_routes()
    answer = response.asdict()
    usage_key = plan_usage_key(principal.plan)
    if usage_key is not None:
        answer["usageIdentifierKey"] = usage_key
    return answer


def plan_usage_key(plan: str) -> str | None:
    """The API Gateway key of the caller's plan, so the plan's throttle and daily quota apply."""
    secret_arn = get_settings().plan_api_key_secret_arns.get(plan)
    if secret_arn is None:
        return None
    return str(parameters.get_secret(secret_arn, max_age=SECRET_CACHE_SECONDS))
