"""The WebSocket API of live metrics, reached at `wss://<edge>/ws/instance/{instance_id}/metrics`.

API Gateway's WebSocket APIs route by message, not by path: a client connects to the stage's URL. So a
CloudFront distribution serves seed 002's path in front of it, and a CloudFront function hands the
path's instance on as the `instance_id` query parameter of the stage's URL, which `$connect` reads. The
WebSocket API's three routes go to the live metrics function; the functions that take heartbeats may
post to its connections (`execute-api:ManageConnections`) through the stage's callback URL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Fn, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import WebSocketLambdaIntegration
from constructs import Construct

from infra.components.nag import acknowledge
from infra.topology import LIVE_METRICS_PATH

STAGE_NAME = "v1"
LIVE_METRICS_ENDPOINT_ENV = "LIVE_METRICS_ENDPOINT"
"""What `dumont_core.platform.settings.LiveMetricsSettings` reads: the stage's Management API URL."""
ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# Connections per second opened by all clients together, and the burst above it.
CONNECT_RATE_PER_SECOND = 50
CONNECT_BURST = 100

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "routeKey": "$context.routeKey",
        "eventType": "$context.eventType",
        "connectionId": "$context.connectionId",
        "status": "$context.status",
        "integrationError": "$context.integrationErrorMessage",
        "error": "$context.error.message",
    }
)
_NOT_FOUND = json.dumps(
    {
        "success": False,
        "error": {
            "code": "NOT_FOUND",
            "message": "Live metrics are at /ws/instance/{instance_id}/metrics",
            "details": {},
        },
    }
)


def path_to_stage_code(stage: str) -> str:
    """The CloudFront function (cloudfront-js-2.0) that turns seed 002's path into the stage's URL with the
    instance as a query parameter; any other path is answered 404 in the API's error envelope."""
    pattern = "^" + LIVE_METRICS_PATH.replace("/", "\\/").replace("{instance_id}", "([A-Za-z0-9_-]+)") + "$"
    return f"""function handler(event) {{
  var request = event.request;
  var found = request.uri.match(/{pattern}/);
  if (!found) {{
    return {{
      statusCode: 404,
      statusDescription: "Not Found",
      headers: {{"content-type": {{value: "application/json"}}}},
      body: {{encoding: "text", data: {json.dumps(_NOT_FOUND)}}}
    }};
  }}
  request.uri = "/{stage}";
  request.querystring["instance_id"] = {{value: found[1]}};
  return request;
}}
"""


class LiveMetricsApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        publishers: Sequence[lambda_.Function],
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name="dumont-live-metrics",
            description="Dumont Cloud live metrics: each heartbeat of an instance, pushed to its watchers",
            connect_route_options=apigwv2.WebSocketRouteOptions(
                integration=WebSocketLambdaIntegration("ConnectIntegration", handler)
            ),
            disconnect_route_options=apigwv2.WebSocketRouteOptions(
                integration=WebSocketLambdaIntegration("DisconnectIntegration", handler)
            ),
            default_route_options=apigwv2.WebSocketRouteOptions(
                integration=WebSocketLambdaIntegration("MessageIntegration", handler)
            ),
        )
        for route in ("$connect", "$disconnect", "$default"):
            acknowledge(
                self.api,
                "AwsSolutions-APIG4",
                f"{route}: $connect lets a connection in only with an access token or API key of our own "
                "accounts, checked and counted by the live metrics function with the REST authorizer's "
                "access service (it must answer 404 for another team's instance, which an authorizer "
                "cannot; decision 70); the other routes exist only on connections it let in.",
            )
        access_logs = logs.LogGroup(self, "AccessLogs", retention=ACCESS_LOG_RETENTION)
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=STAGE_NAME,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=CONNECT_RATE_PER_SECOND, burst_limit=CONNECT_BURST),
        )
        stage = self.stage.node.default_child
        if not isinstance(stage, apigwv2.CfnStage):
            raise TypeError("expected the WebSocket stage's CloudFormation resource")
        # Written by API Gateway with the account's logging role, which the REST API sets up.
        stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
        )
        for publisher in publishers:
            self._let_post_to_connections(publisher)
            publisher.add_environment(LIVE_METRICS_ENDPOINT_ENV, self.stage.callback_url)
        self.edge = self._edge()

    def _let_post_to_connections(self, publisher: lambda_.Function) -> None:
        """POST to this stage's connections (never read or close them), whichever connection it is."""
        if publisher.role is None:
            raise ValueError(f"{publisher.node.path} needs an execution role")
        stack = Stack.of(self)
        connections = stack.format_arn(
            service="execute-api",
            resource=self.api.api_id,
            resource_name=f"{STAGE_NAME}/POST/@connections/*",
        )
        policy = iam.Policy(
            self,
            f"{publisher.node.id}PostToConnections",
            roles=[publisher.role],
            statements=[
                iam.PolicyStatement(
                    sid="PostLiveMetricsToConnections",
                    actions=["execute-api:ManageConnections"],
                    resources=[connections],
                )
            ],
        )
        api_id = stack.get_logical_id(self.api.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "API Gateway names each WebSocket connection when it opens, so the connections a heartbeat is "
            "pushed to cannot be named in advance; the grant is POST only, on this API's one stage.",
            f"Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<{api_id}>/"
            f"{STAGE_NAME}/POST/@connections/*",
        )

    def _edge(self) -> cloudfront.Distribution:
        stack = Stack.of(self)
        path_to_stage = cloudfront.Function(
            self,
            "PathToStage",
            comment="/ws/instance/{id}/metrics to the WebSocket stage, the instance as a query parameter",
            code=cloudfront.FunctionCode.from_inline(path_to_stage_code(STAGE_NAME)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        origin_host = Fn.join(".", [self.api.api_id, "execute-api", stack.region, stack.url_suffix])
        distribution = cloudfront.Distribution(
            self,
            "Edge",
            comment="wss://…/ws/instance/{instance_id}/metrics in front of the live metrics WebSocket API",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(
                    origin_host, protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                # The WebSocket handshake's headers and the query string (the credential) reach API Gateway.
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=path_to_stage, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
        )
        for rule, reason in (
            (
                "AwsSolutions-CFR1",
                "Live metrics are for every customer wherever they are: access is by credential, not place.",
            ),
            (
                "AwsSolutions-CFR2",
                "No WAF web ACL yet, as on the REST API: connections need credentials, are counted against "
                "the caller's plan, and the WebSocket stage throttles connects.",
            ),
            (
                "AwsSolutions-CFR3",
                "Connections are logged by the WebSocket stage's access log and the live metrics function; "
                "a CloudFront log bucket would hold the same requests with the credential in the query.",
            ),
            (
                "AwsSolutions-CFR4",
                "The distribution uses CloudFront's default certificate until a custom domain is attached; "
                "its viewer TLS policy is then TLSv1.2_2021, set here already.",
            ),
        ):
            acknowledge(distribution, rule, reason)
        return distribution

    @property
    def url(self) -> str:
        """Where clients connect: seed 002's path under this host."""
        return Fn.join(
            "", ["wss://", self.edge.distribution_domain_name, "/ws/instance/{instance_id}/metrics"]
        )
