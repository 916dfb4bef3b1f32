"""The REST API (API Gateway v1): every topology route, proxied to the API function."""

from __future__ import annotations

import json
import math
import re

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.components.nag import acknowledge
from infra.topology import API_ROUTES, USAGE_PLANS, UsagePlanSpec

STAGE_NAME = "v1"
ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
_PATH_PARAMETER = re.compile(r"\{(\w+)\}")


def path_parameters(path: str) -> list[str]:
    return _PATH_PARAMETER.findall(path)


def throttle_for(plan: UsagePlanSpec) -> apigw.ThrottleSettings:
    """API Gateway throttles with a token bucket: `rateLimit` tokens per SECOND refill a bucket of
    `burstLimit` tokens. Plans are sold in requests per minute, so:

    - rate = per_minute / 60, rounded down to a hundredth so the sustained rate never exceeds the
      plan (1000/min gives 16.66/s);
    - burst = per_minute: a client that has been quiet for a minute may spend that minute's
      allowance at once (an agent waking up and polling its instances), but it then refills at the
      per-second rate only. Worst case a client gets 2 x per_minute in the first minute after a
      quiet one; the daily quota, where the plan has one, is the hard cap.
    """
    return apigw.ThrottleSettings(
        rate_limit=math.floor(plan.requests_per_minute * 100 / 60) / 100,
        burst_limit=plan.requests_per_minute,
    )


def quota_for(plan: UsagePlanSpec) -> apigw.QuotaSettings | None:
    if plan.requests_per_day is None:
        return None
    return apigw.QuotaSettings(limit=plan.requests_per_day, period=apigw.Period.DAY)


def _access_log_format() -> apigw.AccessLogFormat:
    field = apigw.AccessLogField
    return apigw.AccessLogFormat.custom(
        json.dumps(
            {
                "requestId": field.context_request_id(),
                "requestTime": field.context_request_time(),
                "ip": field.context_identity_source_ip(),
                "apiKeyId": field.context_identity_api_key_id(),
                "httpMethod": field.context_http_method(),
                "resourcePath": field.context_resource_path(),
                "status": field.context_status(),
                "responseLength": field.context_response_length(),
                "responseLatency": field.context_response_latency(),
                "integrationStatus": field.context_integration_status(),
                "integrationError": field.context_integration_error_message(),
                "error": field.context_error_message(),
                "xrayTraceId": field.context_xray_trace_id(),
            }
        )
    )


GATEWAY_ERRORS: tuple[tuple[apigw.ResponseType, str, str, str], ...] = (
    (apigw.ResponseType.INVALID_API_KEY, "401", "UNAUTHENTICATED", "Unknown or disabled API key"),
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "NOT_FOUND", "No such route"),
    (apigw.ResponseType.THROTTLED, "429", "RATE_LIMITED", "Too many requests for your plan; retry shortly"),
    (apigw.ResponseType.QUOTA_EXCEEDED, "429", "RATE_LIMITED", "Your plan's daily request quota is used up"),
    (apigw.ResponseType.BAD_REQUEST_PARAMETERS, "400", "VALIDATION_ERROR", "A path parameter is missing"),
    (apigw.ResponseType.DEFAULT_5_XX, "502", "INTERNAL_ERROR", "Something went wrong on our side; retry"),
)


def error_envelope(code: str, message: str) -> str:
    return json.dumps({"success": False, "error": {"code": code, "message": message, "details": {}}})


class PublicApi(Construct):
    """Regional REST API with API keys (sent in the `x-api-key` header) on every non-public route.

    A Lambda authorizer resolving the key to a team replaces the bare key check later; the three usage
    plans then keep doing the throttling and quotas.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        authorizer_function: lambda_.Function,
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=ACCESS_LOG_RETENTION)
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name="dumont-cloud",
            description="Dumont Cloud control plane API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The authorizer names the usage plan key of the caller's plan: throttles and quotas
            # follow the account's plan whichever credential it sent.
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            # The role API Gateway writes execution logs with. It is a per-account, per-region
            # setting: a second stack in the same account and region must not create it too.
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=_access_log_format(),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                # Full request/response logging would write API keys and bodies to the logs.
                data_trace_enabled=False,
                metrics_enabled=True,
            ),
        )
        acknowledge(
            self.api.node.find_child("CloudWatchRole"),
            "AwsSolutions-IAM4",
            "AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for API Gateway's "
            "account-level logging role; it only lets API Gateway create and write its own log groups.",
            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        )
        acknowledge(
            self.api.deployment_stage,
            "AwsSolutions-APIG3",
            "No WAF web ACL yet: every non-public route needs an API key and is throttled and capped per "
            "key by the usage plans. A WAF with rate-based rules in front of the public routes is planned "
            "before general availability.",
        )
        # RestApi adds an "Endpoint" output under a generated name; the stack outputs `ApiUrl` instead.
        self.api.node.try_remove_child("Endpoint")

        # Path parameters are declared required and checked by API Gateway before the function runs;
        # bodies are validated by the function's own models (no API Gateway models to keep in sync).
        validator = self.api.add_request_validator(
            "RequestValidator",
            request_validator_name="parameters-and-body",
            validate_request_parameters=True,
            validate_request_body=True,
        )
        # No identity sources and no result caching: callers send either of two headers, and a
        # revoked key must stop working at once.
        authorizer = apigw.RequestAuthorizer(
            self,
            "Authorizer",
            handler=authorizer_function,
            identity_sources=[],
            results_cache_ttl=Duration.seconds(0),
        )
        # One API-wide invoke permission instead of two per method: every route goes to this function.
        integration = apigw.LambdaIntegration(handler, proxy=True, scope_permission_to_method=False)
        self.methods: list[apigw.Method] = []
        for route in API_ROUTES:
            parameters = path_parameters(route.path)
            resource = self.api.root.resource_for_path(route.path)
            method = resource.add_method(
                route.method,
                integration,
                api_key_required=not route.public,
                authorizer=None if route.public else authorizer,
                authorization_type=apigw.AuthorizationType.NONE
                if route.public
                else apigw.AuthorizationType.CUSTOM,
                request_parameters={f"method.request.path.{name}": True for name in parameters} or None,
                request_validator=validator if parameters else None,
            )
            if route.public:
                reason = (
                    f"{route.method} {route.path} is public by design (health check, API documentation, "
                    "login or registration): it needs no credentials to be useful."
                )
                acknowledge(method, "AwsSolutions-APIG4", reason)
            else:
                reason = (
                    f"{route.method} {route.path} is authorized by our REQUEST authorizer (access tokens "
                    "and API keys of our own accounts); Cognito user pools are not used."
                )
            acknowledge(method, "AwsSolutions-COG4", reason)
            self.methods.append(method)

        # Errors API Gateway answers itself speak the API's error envelope and codes too.
        for response_type, status, code, message in GATEWAY_ERRORS:
            self.api.add_gateway_response(
                f"{response_type.response_type.title().replace('_', '')}Response",
                type=response_type,
                status_code=status,
                templates={"application/json": error_envelope(code, message)},
            )

        self.plan_key_secrets: dict[str, secretsmanager.Secret] = {}
        for plan in USAGE_PLANS:
            usage_plan = self.api.add_usage_plan(
                f"{plan.name}Plan",
                name=plan.name,
                description=f"{plan.name}: {plan.requests_per_minute} requests/minute"
                + (f", {plan.requests_per_day} requests/day" if plan.requests_per_day else ", no daily cap"),
                throttle=throttle_for(plan),
                quota=quota_for(plan),
                api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
            )
            # The plan's usage identifier: an API key whose value only the authorizer reads, from
            # Secrets Manager, to hand to API Gateway for callers on this plan.
            key_secret = secretsmanager.Secret(
                self,
                f"{plan.name}PlanKeyValue",
                description=f"Usage identifier of the {plan.name} plan, read by the authorizer",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True, password_length=40
                ),
            )
            acknowledge(
                key_secret,
                "AwsSolutions-SMG4",
                "A usage identifier, never shown to callers: rotating it means replacing the plan's "
                "API Gateway key in the same deploy, which CloudFormation does when the value changes.",
            )
            key = self.api.add_api_key(
                f"{plan.name}PlanKey",
                api_key_name=f"dumont-{plan.name.lower()}-plan",
                value=key_secret.secret_value.unsafe_unwrap(),
            )
            usage_plan.add_api_key(key)
            key_secret.grant_read(authorizer_function)
            self.plan_key_secrets[plan.name.lower()] = key_secret
        authorizer_function.add_environment(
            "PLAN_API_KEY_SECRET_ARNS",
            Stack.of(self).to_json_string(
                {plan: secret.secret_arn for plan, secret in self.plan_key_secrets.items()}
            ),
        )

    @property
    def url(self) -> str:
        return self.api.url
