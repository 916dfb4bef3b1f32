"""The WebSocket API of live metrics: its routes go to the live metrics function, only the functions that
take heartbeats may post to its connections, and seed 002's path reaches its stage through CloudFront."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from infra.components.live import STAGE_NAME, path_to_stage_code
from infra.topology import FUNCTIONS, LIVE_METRICS_FUNCTION
from tests.integration.infra.template import Synthesized, actions_of, as_list, as_text


def test_connect_disconnect_and_messages_go_to_the_live_metrics_function(synthesized: Synthesized) -> None:
    _, api = synthesized.only("AWS::ApiGatewayV2::Api")
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    routes = {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in synthesized.of_type("AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {"$connect", "$disconnect", "$default"}
    function_id = synthesized.function_id(LIVE_METRICS_FUNCTION.handler)
    integrations = synthesized.of_type("AWS::ApiGatewayV2::Integration")
    for route in routes.values():
        integration_id = route["Target"]["Fn::Join"][1][1]["Ref"]
        uri = as_text(integrations[integration_id]["Properties"]["IntegrationUri"])
        assert f"<GetAtt {function_id}.Arn>" in uri
    _, stage = synthesized.only("AWS::ApiGatewayV2::Stage")
    assert stage["Properties"]["StageName"] == STAGE_NAME
    assert "DestinationArn" in stage["Properties"]["AccessLogSettings"]


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_only_the_functions_that_take_heartbeats_may_post_to_connections(
    synthesized: Synthesized, spec: Any
) -> None:
    _, props = synthesized.functions_by_handler()[spec.handler]
    statements = synthesized.role_statements(props["Role"]["Fn::GetAtt"][0])
    grants = [
        as_text(resource)
        for statement in statements
        if "execute-api:ManageConnections" in actions_of(statement)
        for resource in as_list(statement["Resource"])
    ]
    env = props["Environment"]["Variables"]
    if spec.pushes_live_metrics:
        (grant,) = grants
        assert grant.endswith(f"/{STAGE_NAME}/POST/@connections/*"), "post only, on the one stage"
        assert "execute-api" in as_text(env["LIVE_METRICS_ENDPOINT"])
    else:
        assert grants == []
        assert "LIVE_METRICS_ENDPOINT" not in env


def test_the_edge_serves_seed_002s_path_over_tls_without_caching(synthesized: Synthesized) -> None:
    _, distribution = synthesized.only("AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "https-only"
    assert behavior["FunctionAssociations"][0]["EventType"] == "viewer-request"
    (origin,) = config["Origins"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert "execute-api" in as_text(origin["DomainName"])
    outputs = synthesized.template.to_json()["Outputs"]
    assert as_text(outputs["LiveMetricsUrl"]["Value"]).endswith("/ws/instance/{instance_id}/metrics")


def _rewrite(uri: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js runs the CDK tests; it is not installed")
    event = {"request": {"uri": uri, "querystring": {"token": {"value": "dumont_sk_x"}}}}
    script = path_to_stage_code(STAGE_NAME) + f"\nconsole.log(JSON.stringify(handler({json.dumps(event)})));"
    done = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=30)
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_the_path_is_handed_to_the_stage_with_the_instance_as_a_parameter() -> None:
    request = _rewrite("/ws/instance/inst_abc123/metrics")

    assert request["uri"] == f"/{STAGE_NAME}"
    assert request["querystring"] == {
        "token": {"value": "dumont_sk_x"},
        "instance_id": {"value": "inst_abc123"},
    }


@pytest.mark.parametrize(
    "uri", ["/", "/ws/instance/metrics", "/ws/instance/a/b/metrics", "/api/v1/instances"]
)
def test_other_paths_are_answered_404_in_the_error_envelope(uri: str) -> None:
    answer = _rewrite(uri)

    assert answer["statusCode"] == 404
    assert json.loads(answer["body"]["data"])["error"]["code"] == "NOT_FOUND"
