"""The REST API: one method per route, authorized and metered as its caller needs, and the usage plans."""

from __future__ import annotations

import json
import re

import pytest

from dumont_core.access.plans import PLANS
from infra.components.api import STAGE_NAME
from infra.topology import (
    API_FUNCTION,
    API_ROUTES,
    AUTHORIZER_FUNCTION,
    DEMO_USAGE_KEY_ENV,
    DEMO_USAGE_PLAN,
    LIVE_METRICS_FUNCTION,
    USAGE_PLANS,
)
from tests.integration.infra.template import Synthesized, as_text


def test_api_function_finds_each_plans_usage_plan_in_usage_plan_ids(synthesized: Synthesized) -> None:
    _, props = synthesized.functions_by_handler()[API_FUNCTION.handler]
    usage_plan_ids = json.loads(as_text(props["Environment"]["Variables"]["USAGE_PLAN_IDS"]))
    by_name = synthesized.usage_plan_ids_by_name()
    assert usage_plan_ids == {spec.plan: f"<Ref {by_name[spec.name]}>" for spec in USAGE_PLANS}
    assert sorted(usage_plan_ids) == sorted(PLANS) == ["enterprise", "free", "pro"]


def _resource_paths(synthesized: Synthesized) -> dict[str, str]:
    resources = synthesized.of_type("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(resource_id: str) -> str:
        if resource_id not in paths:
            props = resources[resource_id]["Properties"]
            parent = props["ParentId"]
            prefix = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
            paths[resource_id] = f"{prefix}/{props['PathPart']}"
        return paths[resource_id]

    for resource_id in resources:
        path_of(resource_id)
    return paths


def test_one_method_per_route_authorized_and_metered_as_its_caller_needs(synthesized: Synthesized) -> None:
    paths = _resource_paths(synthesized)
    api_function_id, api_function = synthesized.functions_by_handler()[API_FUNCTION.handler]
    api_function_name = api_function["FunctionName"]
    methods = synthesized.of_type("AWS::ApiGateway::Method")
    assert len(methods) == len(API_ROUTES)
    authorizer_id, authorizer = synthesized.only("AWS::ApiGateway::Authorizer")
    assert authorizer["Properties"]["Type"] == "REQUEST"
    assert authorizer["Properties"]["AuthorizerResultTtlInSeconds"] == 0, "revoked keys stop at once"
    authorizer_uri = json.dumps(authorizer["Properties"]["AuthorizerUri"])
    assert synthesized.function_id(AUTHORIZER_FUNCTION.handler) in authorizer_uri
    found = {}
    for method in methods.values():
        props = method["Properties"]
        resource = props["ResourceId"]
        path = "/" if "Fn::GetAtt" in resource else paths[resource["Ref"]]
        found[(props["HttpMethod"], path)] = (props["AuthorizationType"], props["ApiKeyRequired"])
        if props["AuthorizationType"] == "CUSTOM":
            assert props["AuthorizerId"] == {"Ref": authorizer_id}
        assert props["Integration"]["Type"] == "AWS_PROXY"
        # By name: a reference to the function would make the template circular (see PublicApi).
        assert as_text(props["Integration"]["Uri"]).endswith(f":function:{api_function_name}/invocations")
        assert api_function_id not in json.dumps(props)
        for name in re.findall(r"\{(\w+)\}", path):
            assert props["RequestParameters"][f"method.request.path.{name}"] is True
            assert "RequestValidatorId" in props
    # Members' requests count against their plan's usage plan through the key the authorizer names; an
    # agent has no such key, so its routes must not require one or API Gateway would refuse them.
    assert found == {
        (route.method, route.path): ("NONE" if route.public else "CUSTOM", route.metered)
        for route in API_ROUTES
    }
    assert found[("POST", "/api/agent/status")] == ("CUSTOM", False)


def test_api_takes_usage_keys_from_the_authorizer_stage_logging_and_tracing(synthesized: Synthesized) -> None:
    _, api = synthesized.only("AWS::ApiGateway::RestApi")
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"
    _, stage = synthesized.only("AWS::ApiGateway::Stage")
    props = stage["Properties"]
    assert props["StageName"] == STAGE_NAME
    assert props["TracingEnabled"] is True
    assert "DestinationArn" in props["AccessLogSetting"]
    assert json.loads(props["AccessLogSetting"]["Format"])["requestId"] == "$context.requestId"
    assert {"HttpMethod": "*", "ResourcePath": "/*", "LoggingLevel": "ERROR"}.items() <= {
        **props["MethodSettings"][0]
    }.items()
    synthesized.only("AWS::ApiGateway::Account")
    validators = synthesized.of_type("AWS::ApiGateway::RequestValidator")
    assert [v["Properties"]["ValidateRequestParameters"] for v in validators.values()] == [True]
    live_metrics = synthesized.function_id(LIVE_METRICS_FUNCTION.handler)
    permissions = [
        permission
        for permission in synthesized.of_type("AWS::Lambda::Permission").values()
        if permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
        # The WebSocket API's routes invoke the live metrics function (see test_live_metrics).
        and permission["Properties"]["FunctionName"]["Fn::GetAtt"][0] != live_metrics
    ]
    assert len(permissions) == 2, "one for the API function, one for the authorizer"
    invoked = sorted(p["Properties"]["FunctionName"]["Fn::GetAtt"][0] for p in permissions)
    assert invoked == sorted(
        synthesized.function_id(spec.handler) for spec in (API_FUNCTION, AUTHORIZER_FUNCTION)
    )


def test_a_usage_plan_per_plan_and_demo_s_with_throttles_per_second_and_daily_quotas(
    synthesized: Synthesized,
) -> None:
    api_id, _ = synthesized.only("AWS::ApiGateway::RestApi")
    stage_id, _ = synthesized.only("AWS::ApiGateway::Stage")
    plans = {
        plan["Properties"]["UsagePlanName"]: plan["Properties"]
        for plan in synthesized.of_type("AWS::ApiGateway::UsagePlan").values()
    }
    assert sorted(plans) == sorted(spec.name for spec in (*USAGE_PLANS, DEMO_USAGE_PLAN))
    assert sorted(plans) == ["Demo", "Enterprise", "Free", "Pro"]
    assert sorted(spec.plan for spec in USAGE_PLANS) == sorted(PLANS)
    for spec in (*USAGE_PLANS, DEMO_USAGE_PLAN):
        sold = PLANS.get(spec.plan)
        if sold is not None:
            assert (spec.requests_per_minute, spec.requests_per_day) == (
                sold.requests_per_minute,
                sold.requests_per_day,
            )
        props = plans[spec.name]
        per_second = props["Throttle"]["RateLimit"]
        # rateLimit is per second; the plan is sold per minute. Never above it, at most 1/min below.
        assert spec.requests_per_minute - 1 < per_second * 60 <= spec.requests_per_minute
        assert props["Throttle"]["BurstLimit"] == spec.requests_per_minute
        if spec.requests_per_day is None:
            assert "Quota" not in props
        else:
            assert props["Quota"] == {"Limit": spec.requests_per_day, "Period": "DAY"}
        assert [(s["ApiId"], s["Stage"]) for s in props["ApiStages"]] == [
            ({"Ref": api_id}, {"Ref": stage_id})
        ]
    assert plans["Free"]["Throttle"]["RateLimit"] == 1
    assert plans["Free"]["Quota"] == {"Limit": 1_000, "Period": "DAY"}
    assert plans["Pro"]["Throttle"] == {"RateLimit": 5, "BurstLimit": 300}
    assert plans["Pro"]["Quota"] == {"Limit": 10_000, "Period": "DAY"}
    assert plans["Enterprise"]["Throttle"]["RateLimit"] == pytest.approx(16.66)
    assert "Quota" not in plans["Enterprise"]


def test_the_one_usage_key_deployed_is_the_demo_plan_s_which_the_authorizer_names(
    synthesized: Synthesized,
) -> None:
    """Members' usage keys are created by the API function, one per member; the only key in the template is
    the demo plan's, named by the authorizer for demo-mode requests without credentials, so they pass the
    metered routes' key requirement and are held to the demo plan's limits, all together."""
    key_id, key = synthesized.only("AWS::ApiGateway::ApiKey")
    _, attachment = synthesized.only("AWS::ApiGateway::UsagePlanKey")
    demo_plan_id = synthesized.usage_plan_ids_by_name()[DEMO_USAGE_PLAN.name]
    assert attachment["Properties"]["KeyId"] == {"Ref": key_id}
    assert attachment["Properties"]["UsagePlanId"] == {"Ref": demo_plan_id}
    assert key["Properties"]["Enabled"] is True
    _, authorizer = synthesized.functions_by_handler()[AUTHORIZER_FUNCTION.handler]
    named = authorizer["Environment"]["Variables"][DEMO_USAGE_KEY_ENV]
    assert named == key["Properties"]["Value"], "the authorizer names the key the demo plan holds"
    assert "AWS::StackId" in json.dumps(named), "unique per deployment"
    _, api_function = synthesized.functions_by_handler()[API_FUNCTION.handler]
    assert DEMO_USAGE_KEY_ENV not in api_function["Environment"]["Variables"]
    demo_routes = [route for route in API_ROUTES if route.path in ("/api/machines", "/api/v1/instances")]
    assert demo_routes and all(route.metered for route in demo_routes), "demo routes require a usage key"


def test_api_url_is_an_output(synthesized: Synthesized) -> None:
    outputs = synthesized.template.to_json()["Outputs"]
    assert "ApiUrl" in outputs
    assert "execute-api" in json.dumps(outputs["ApiUrl"]["Value"])


def test_gateway_errors_speak_the_api_error_envelope(synthesized: Synthesized) -> None:
    responses = synthesized.of_type("AWS::ApiGateway::GatewayResponse")
    by_type = {props["Properties"]["ResponseType"]: props["Properties"] for props in responses.values()}
    assert by_type["INVALID_API_KEY"]["StatusCode"] == "401"
    assert by_type["THROTTLED"]["StatusCode"] == "429"
    assert by_type["QUOTA_EXCEEDED"]["StatusCode"] == "429"
    # A refused credential, a body too large or not JSON, and whatever else API Gateway refuses itself.
    assert by_type["UNAUTHORIZED"]["StatusCode"] == "401"
    assert by_type["REQUEST_TOO_LARGE"]["StatusCode"] == "413"
    assert by_type["UNSUPPORTED_MEDIA_TYPE"]["StatusCode"] == "415"
    assert "StatusCode" not in by_type["DEFAULT_4XX"], "keeps the status API Gateway answers"
    for properties in by_type.values():
        body = json.loads(properties["ResponseTemplates"]["application/json"])
        assert body["success"] is False
        assert body["error"]["code"] and body["error"]["message"]
