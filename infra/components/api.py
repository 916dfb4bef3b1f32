"""The REST API (API Gateway v1): every topology route, proxied to the API function, and the usage
plans that throttle and cap each team member's requests."""

from __future__ import annotations

import json
import math
import re

from aws_cdk import ArnFormat, Aws, Duration, Fn, Stack, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components.nag import acknowledge
from infra.topology import (
    API_ROUTES,
    DEMO_USAGE_KEY_ENV,
    DEMO_USAGE_KEY_PREFIX,
    DEMO_USAGE_PLAN,
    USAGE_PLAN_IDS_ENV,
    USAGE_PLANS,
    UsagePlanSpec,
)

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


GATEWAY_ERRORS: tuple[tuple[apigw.ResponseType, str | None, str, str], ...] = (
    (apigw.ResponseType.INVALID_API_KEY, "401", "UNAUTHENTICATED", "Unknown or disabled API key"),
    (
        apigw.ResponseType.UNAUTHORIZED,
        "401",
        "UNAUTHENTICATED",
        "Send a valid access token or API key: `Authorization: Bearer …` or `X-API-Key: …`",
    ),
    (apigw.ResponseType.ACCESS_DENIED, "403", "FORBIDDEN", "This credential may not call this route"),
    (
        apigw.ResponseType.REQUEST_TOO_LARGE,
        "413",
        "REQUEST_TOO_LARGE",
        "The request is too large: keep its body under 10 MB and its headers under 10 KB",
    ),
    (
        apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE,
        "415",
        "UNSUPPORTED_MEDIA_TYPE",
        "Send the request body as JSON, with Content-Type: application/json",
    ),
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "NOT_FOUND", "No such route"),
    (apigw.ResponseType.THROTTLED, "429", "RATE_LIMITED", "Too many requests for your plan; retry shortly"),
    (apigw.ResponseType.QUOTA_EXCEEDED, "429", "RATE_LIMITED", "Your plan's daily request quota is used up"),
    (apigw.ResponseType.BAD_REQUEST_PARAMETERS, "400", "VALIDATION_ERROR", "A path parameter is missing"),
    # Anything else API Gateway refuses itself keeps its status; None leaves it as API Gateway set it.
    (
        apigw.ResponseType.DEFAULT_4_XX,
        None,
        "BAD_REQUEST",
        "The request was refused before it reached the API",
    ),
    (apigw.ResponseType.DEFAULT_5_XX, "502", "INTERNAL_ERROR", "Something went wrong on our side; retry"),
)


def error_envelope(code: str, message: str) -> str:
    return json.dumps({"success": False, "error": {"code": code, "message": message, "details": {}}})


def fixed_function_name(function: lambda_.Function) -> str:
    """The name `function` is deployed under, which must be set in the app (not generated)."""
    resource = function.node.default_child
    name = resource.function_name if isinstance(resource, lambda_.CfnFunction) else None
    if not isinstance(name, str) or Token.is_unresolved(name):
        raise ValueError(f"{function.node.path} needs a fixed function name")
    return name


class PublicApi(Construct):
    """Regional REST API: every non-public route goes through the REQUEST authorizer.

    Throttles and daily quotas come from one usage plan per plan we sell, and API Gateway applies
    them per API key. So every team member has an API Gateway key of their own: the API function
    creates it in the usage plan of the member's plan when the member joins and deletes it when they
    are removed, finding the usage plans in USAGE_PLAN_IDS. The authorizer hands that key's value to
    API Gateway as the request's usage identifier, whichever credential the caller sent.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.Function,
        authorizer_function: lambda_.Function,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        access_logs = logs.LogGroup(self, "AccessLogs", retention=ACCESS_LOG_RETENTION)
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name="dumont-cloud",
            description="Dumont Cloud control plane API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The authorizer names the caller's own usage key: throttles and quotas follow the
            # member's plan whichever credential the request carries.
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
            "No WAF web ACL yet: every non-public route needs credentials and is throttled and capped "
            "per team member by the usage plans. A WAF with rate-based rules in front of the public "
            "routes is planned before general availability.",
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
        # The methods reach the API function by its name, not by a reference to the function: its
        # environment names the usage plans, a usage plan names the stage, the stage's deployment
        # needs every method, and a method referring to the function would close that circle.
        handler_by_name = lambda_.Function.from_function_attributes(
            self,
            "HandlerByName",
            function_arn=stack.format_arn(
                service="lambda",
                resource="function",
                resource_name=fixed_function_name(handler),
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
            skip_permissions=True,
        )
        integration = apigw.LambdaIntegration(handler_by_name, proxy=True)
        # One API-wide invoke permission instead of two per method: every route goes to this function.
        handler.add_permission(
            "InvokeFromApi",
            principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
            source_arn=self.api.arn_for_execute_api(),
        )
        self.methods: list[apigw.Method] = []
        for route in API_ROUTES:
            parameters = path_parameters(route.path)
            resource = self.api.root.resource_for_path(route.path)
            method = resource.add_method(
                route.method,
                integration,
                # An agent's requests carry no member's API Gateway key: its authorizer answer names none.
                api_key_required=route.metered,
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
                    "login, registration or the demo app): it needs no credentials to be useful."
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

        self.usage_plans: dict[str, apigw.UsagePlan] = {}
        for plan in USAGE_PLANS:
            self.usage_plans[plan.plan] = self.api.add_usage_plan(
                f"{plan.name}Plan",
                name=plan.name,
                description=f"{plan.name}, per team member: {plan.requests_per_minute} requests/minute"
                + (f", {plan.requests_per_day} requests/day" if plan.requests_per_day else ", no daily cap"),
                throttle=throttle_for(plan),
                quota=quota_for(plan),
                api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
            )
        handler.add_environment(
            USAGE_PLAN_IDS_ENV,
            stack.to_json_string(
                {plan: usage_plan.usage_plan_id for plan, usage_plan in self.usage_plans.items()}
            ),
        )
        self._let_manage_member_keys(handler)
        self._demo_plan(authorizer_function)

    def _demo_plan(self, authorizer_function: lambda_.Function) -> None:
        """Demo mode (`?demo=true`) without credentials: the routes that serve it require a usage key like
        every member's route, and the authorizer names the demo plan's one key, so API Gateway holds every
        demo request to that plan's throttle and quota, together."""
        plan = DEMO_USAGE_PLAN
        self.demo_usage_plan = self.api.add_usage_plan(
            "DemoPlan",
            name=plan.name,
            description=f"Demo mode without credentials, all callers together: {plan.requests_per_minute} "
            f"requests/minute, {plan.requests_per_day} requests/day",
            throttle=throttle_for(plan),
            quota=quota_for(plan),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
        )
        # Unique per deployment, and no secret: with the key source AUTHORIZER, keys callers send are ignored.
        value = Fn.join("", [DEMO_USAGE_KEY_PREFIX, Fn.select(2, Fn.split("/", Aws.STACK_ID))])
        key = apigw.ApiKey(
            self, "DemoKey", description="Names demo-mode requests to the demo usage plan", value=value
        )
        self.demo_usage_plan.add_api_key(key)
        authorizer_function.add_environment(DEMO_USAGE_KEY_ENV, value)

    def _let_manage_member_keys(self, handler: lambda_.Function) -> None:
        """Lets the API function create API keys, add them to our usage plans, and delete them."""
        if handler.role is None:
            raise ValueError("the API function needs an execution role")
        stack = Stack.of(self)
        apigateway = f"arn:{stack.partition}:apigateway:{stack.region}::"
        # A policy of its own, so that the acknowledgment below covers these statements only.
        policy = iam.Policy(
            self,
            "MemberKeysPolicy",
            roles=[handler.role],
            statements=[
                iam.PolicyStatement(
                    sid="CreateMemberKeysInOurUsagePlans",
                    actions=["apigateway:POST"],
                    resources=[
                        f"{apigateway}/apikeys",
                        *(
                            f"{apigateway}/usageplans/{usage_plan.usage_plan_id}/keys"
                            for usage_plan in self.usage_plans.values()
                        ),
                    ],
                ),
                iam.PolicyStatement(
                    sid="DeleteMemberKeys",
                    actions=["apigateway:DELETE"],
                    resources=[f"{apigateway}/apikeys/*"],
                ),
                # A team's plan change moves its members' keys from one of our usage plans to another.
                iam.PolicyStatement(
                    sid="MoveMemberKeysBetweenOurUsagePlans",
                    actions=["apigateway:GET", "apigateway:DELETE"],
                    resources=[
                        f"{apigateway}/usageplans/{usage_plan.usage_plan_id}/keys/*"
                        for usage_plan in self.usage_plans.values()
                    ],
                ),
            ],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "DELETE on API keys: API Gateway generates a key's id when the API function creates it for a "
            "new team member, so the keys it deletes when a member is removed cannot be named in "
            "advance. The grant is DELETE only; creating keys is limited to this stack's usage plans.",
            "Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/apikeys/*",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "GET and DELETE on the keys of this stack's own usage plans: a team's plan change moves its "
            "members' keys, whose ids API Gateway generated when each member joined, between those plans.",
            *(
                f"Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/usageplans/<{plan_id}>/keys/*"
                for plan_id in (
                    stack.get_logical_id(usage_plan.node.default_child)  # type: ignore[arg-type]
                    for usage_plan in self.usage_plans.values()
                )
            ),
        )

    @property
    def url(self) -> str:
        return self.api.url
