"""API Gateway keys that make API Gateway's usage plans throttle each team member on their own.

Usage-plan throttles and quotas apply per API key, so every member's seat gets its own key in its
plan's usage plan. The authorizer names that key to API Gateway (API key source AUTHORIZER); callers
never see it and never send it.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

from dumont_core.access.models import UsageKey
from dumont_core.platform.aws import aws_client


class UsageKeys(Protocol):
    def issue(self, name: str, plan: str) -> UsageKey | None: ...

    def retire(self, key_id: str) -> None: ...

    def move(self, key_id: str, plan: str) -> None: ...


class ApiGatewayUsageKeys:
    def __init__(self, usage_plan_ids: dict[str, str]) -> None:
        self._usage_plan_ids = usage_plan_ids

    def issue(self, name: str, plan: str) -> UsageKey | None:
        usage_plan_id = self._usage_plan_ids.get(plan)
        if usage_plan_id is None:
            # Usage plans are not deployed (unit tests, a stack without an API): the app's own
            # counters still limit every caller.
            return None
        apigateway = aws_client("apigateway")
        key = apigateway.create_api_key(name=name, enabled=True)
        try:
            apigateway.create_usage_plan_key(usagePlanId=usage_plan_id, keyId=key["id"], keyType="API_KEY")
        except Exception:
            apigateway.delete_api_key(apiKey=key["id"])
            raise
        return UsageKey(key_id=str(key["id"]), value=str(key["value"]))

    def retire(self, key_id: str) -> None:
        apigateway = aws_client("apigateway")
        with contextlib.suppress(apigateway.exceptions.NotFoundException):
            apigateway.delete_api_key(apiKey=key_id)

    def move(self, key_id: str, plan: str) -> None:
        """Put the key in `plan`'s usage plan and out of every other: API Gateway throttles it by the new
        plan from its next request. Out of the others first, since API Gateway refuses a key in two
        usage plans of one stage. Repeating it changes nothing."""
        target = self._usage_plan_ids.get(plan)
        if target is None:
            return
        apigateway = aws_client("apigateway")
        for usage_plan_id in sorted(set(self._usage_plan_ids.values()) - {target}):
            try:
                apigateway.get_usage_plan_key(usagePlanId=usage_plan_id, keyId=key_id)
            except apigateway.exceptions.NotFoundException:
                continue
            with contextlib.suppress(apigateway.exceptions.NotFoundException):
                apigateway.delete_usage_plan_key(usagePlanId=usage_plan_id, keyId=key_id)
        with contextlib.suppress(apigateway.exceptions.ConflictException):
            apigateway.create_usage_plan_key(usagePlanId=target, keyId=key_id, keyType="API_KEY")
