"""The functions, as topology.py describes them, and what each may do: least privilege, secrets included."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.components.functions import DEFAULT_AGENT_PACKAGE, DEFAULT_VAST_API_URL
from infra.stack import build_app
from infra.topology import (
    API_FUNCTION,
    DEMO_USAGE_PLAN,
    FUNCTIONS,
    HOUSEKEEPING_FUNCTION,
    INSTANCE_TASKS_FUNCTION,
    PRICE_COLLECTOR_FUNCTION,
    RECONCILER_FUNCTION,
    STATE_MACHINES,
    USAGE_PLAN_IDS_ENV,
)
from tests.integration.infra.template import SKIP_BUNDLING, Synthesized, actions_of, as_list, as_text


def test_exactly_the_topology_functions_exist(synthesized: Synthesized) -> None:
    assert sorted(synthesized.functions_by_handler()) == sorted(spec.handler for spec in FUNCTIONS)


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_function_runtime_architecture_tracing_layers_and_environment(
    synthesized: Synthesized, spec: Any
) -> None:
    _, props = synthesized.functions_by_handler()[spec.handler]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_seconds
    assert props["TracingConfig"] == {"Mode": "Active"}
    layer_ids = sorted(synthesized.of_type("AWS::Lambda::LayerVersion"))
    assert sorted(layer["Ref"] for layer in props["Layers"]) == layer_ids
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert synthesized.resources[log_group_id]["Properties"]["RetentionInDays"] > 0

    env = props["Environment"]["Variables"]
    table_id, _ = synthesized.only("AWS::DynamoDB::Table")
    assert env["TABLE_NAME"] == {"Ref": table_id}
    assert env["EVENT_BUS_NAME"]
    assert ("VAST_API_URL" in env) == spec.reads_provider_secret, "only who rents machines reaches Vast.ai"
    if spec.reads_provider_secret:
        assert env["VAST_API_URL"].startswith("https://")
    assert env["POWERTOOLS_SERVICE_NAME"] == "dumont-cloud"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "DumontCloud"
    assert env["LOG_LEVEL"] == "INFO"
    assert ("VAST_API_KEY_SECRET_ARN" in env) is spec.reads_provider_secret
    for machine in STATE_MACHINES:
        assert (machine.arn_env_var in env) is spec.start_state_machines
    assert (USAGE_PLAN_IDS_ENV in env) is (spec == API_FUNCTION)
    assert "PLAN_API_KEY_SECRET_ARNS" not in env
    uses_snapshots = spec.reads_snapshots or spec.writes_snapshots
    if uses_snapshots:
        assert env["SNAPSHOT_BUCKET"] == {"Ref": synthesized.snapshot_bucket_id()}
    else:
        assert "SNAPSHOT_BUCKET" not in env
    assert ("PUBLIC_API_URL" in env) is ("AGENT_PACKAGE" in env) is spec.boots_agents
    # Optional: the agents' heartbeat interval is the settings' default.
    assert "AGENT_HEARTBEAT_SECONDS" not in env


def test_snapshot_functions_are_the_api_the_instance_tasks_and_housekeeping() -> None:
    # The API deletes snapshots' objects; housekeeping sweeps the chunks no snapshot uses.
    assert [spec.name for spec in FUNCTIONS if spec.writes_snapshots] == [
        API_FUNCTION.name,
        HOUSEKEEPING_FUNCTION.name,
    ]
    assert {spec.name for spec in FUNCTIONS if spec.reads_snapshots} >= {
        API_FUNCTION.name,
        INSTANCE_TASKS_FUNCTION.name,
    }
    assert [spec.name for spec in FUNCTIONS if spec.completes_workflow_tasks] == [API_FUNCTION.name]
    # Housekeeping launches the CPU standbys, whose first boot starts our agent too.
    assert [spec.name for spec in FUNCTIONS if spec.boots_agents] == [
        INSTANCE_TASKS_FUNCTION.name,
        HOUSEKEEPING_FUNCTION.name,
    ]


@pytest.mark.parametrize(
    "spec", [spec for spec in FUNCTIONS if spec.runs_cpu_standbys], ids=lambda spec: spec.name
)
def test_functions_act_only_on_the_cpu_standbys_tagged_with_their_deployment(
    synthesized: Synthesized, spec: Any
) -> None:
    _function_id, props = synthesized.functions_by_handler()[spec.handler]
    role_id = props["Role"]["Fn::GetAtt"][0]
    statements = synthesized.role_statements(role_id)

    (power,) = [s for s in statements if "ec2:TerminateInstances" in actions_of(s)]
    assert sorted(actions_of(power)) == ["ec2:StartInstances", "ec2:StopInstances", "ec2:TerminateInstances"]
    assert power["Condition"] == {"StringEquals": {"aws:ResourceTag/dumont:deployment": "dumont"}}
    (tagging,) = [s for s in statements if "ec2:CreateTags" in actions_of(s)]
    assert tagging["Condition"] == {"StringEquals": {"ec2:CreateAction": "RunInstances"}}
    assert not any("iam:PassRole" in actions_of(s) for s in statements), "no instance profile is passed"
    if spec.boots_agents:
        # It launches them, labelled with the deployment's prefix.
        assert props["Environment"]["Variables"]["MACHINE_LABEL_PREFIX"] == "dumont"


def test_the_reconciler_may_start_the_failover_workflows(synthesized: Synthesized) -> None:
    # An instance interrupted with failover on comes back through a workflow the reconciler starts.
    _, props = synthesized.functions_by_handler()[RECONCILER_FUNCTION.handler]

    assert "CPU_FAILOVER_STATE_MACHINE_ARN" in props["Environment"]["Variables"]
    assert "WAKE_STATE_MACHINE_ARN" in props["Environment"]["Variables"]


def test_the_cpu_standbys_image_and_subnet_come_from_context_values() -> None:
    built = build_app(
        context={
            **SKIP_BUNDLING,
            "cpuStandbyAmiId": "ami-0abc1234def567890",
            "cpuStandbySubnetId": "subnet-0a1b2c3d",
        }
    )
    template = Template.from_stack(built.stack)
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": HOUSEKEEPING_FUNCTION.handler}}
    )
    (housekeeping,) = functions.values()
    variables = housekeeping["Properties"]["Environment"]["Variables"]
    assert (variables["CPU_STANDBY_AMI_ID"], variables["CPU_STANDBY_SUBNET_ID"]) == (
        "ami-0abc1234def567890",
        "subnet-0a1b2c3d",
    )


def test_rented_machines_install_the_agent_and_reach_the_api_stage(synthesized: Synthesized) -> None:
    from dumont_core.platform.settings import ProviderSettings

    _, props = synthesized.functions_by_handler()[INSTANCE_TASKS_FUNCTION.handler]
    env = props["Environment"]["Variables"]
    api_id, _ = synthesized.only("AWS::ApiGateway::RestApi")
    stage_id, _ = synthesized.only("AWS::ApiGateway::Stage")
    assert as_text(env["PUBLIC_API_URL"]) == (
        f"https://<Ref {api_id}>.execute-api.<Ref AWS::Region>.<Ref AWS::URLSuffix>/<Ref {stage_id}>/"
    )
    assert env["PUBLIC_API_URL"] == synthesized.template.to_json()["Outputs"]["ApiUrl"]["Value"]
    assert (
        env["AGENT_PACKAGE"]
        == DEFAULT_AGENT_PACKAGE
        == ProviderSettings.model_fields["agent_package"].default
    )


def test_the_agent_package_comes_from_the_agent_package_context_value() -> None:
    wheel = "https://downloads.example.com/dumont_agent-2.0.0-py3-none-any.whl"
    built = build_app(context={**SKIP_BUNDLING, "agentPackage": wheel})
    template = Template.from_stack(built.stack)
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": INSTANCE_TASKS_FUNCTION.handler}}
    )
    (tasks,) = functions.values()
    assert tasks["Properties"]["Environment"]["Variables"]["AGENT_PACKAGE"] == wheel


def _log_groups_it_may_write(synthesized: Synthesized, spec: Any, props: dict[str, Any]) -> list[Any]:
    """Its own log group; and, for the function that keeps them, the machines' log group."""
    own = {"Fn::GetAtt": [props["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]}
    machines = {"Fn::GetAtt": [synthesized.instance_log_group()[0], "Arn"]}
    return [own, machines] if spec.keeps_instance_logs else [own]


def _assert_reads_only_its_secrets(
    synthesized: Synthesized, spec: Any, props: dict[str, Any], statements: list[dict[str, Any]]
) -> None:
    read_secrets = [s["Resource"] for s in statements if "secretsmanager:GetSecretValue" in actions_of(s)]
    expected = []
    env = props["Environment"]["Variables"]
    if spec.reads_token_secret:
        token_secret_id = synthesized.secret_id("TokenSigning")
        expected.append({"Ref": token_secret_id})
        assert env["JWT_SECRET_ARN"] == {"Ref": token_secret_id}
    if spec.reads_provider_secret:
        secret_id = synthesized.secret_id("VastApiKey")
        expected.append({"Ref": secret_id})
        assert env["VAST_API_KEY_SECRET_ARN"] == {"Ref": secret_id}
    if spec.takes_payments:
        stripe_id = synthesized.secret_id("StripeKeys")
        expected.append({"Ref": stripe_id})
        assert env["STRIPE_SECRET_ARN"] == {"Ref": stripe_id}
    else:
        assert "STRIPE_SECRET_ARN" not in env
    assert sorted(map(str, read_secrets)) == sorted(map(str, expected))


def _apigateway_grants(statements: list[Any]) -> dict[str, list[str]]:
    """Each API Gateway action granted, with every resource it is granted on, whichever statement."""
    grants: dict[str, list[str]] = {}
    for statement in statements:
        for action in actions_of(statement):
            if action.startswith("apigateway:"):
                grants.setdefault(action, []).extend(
                    as_text(resource) for resource in as_list(statement["Resource"])
                )
    return {action: sorted(resources) for action, resources in grants.items()}


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_function_permissions_are_least_privilege(synthesized: Synthesized, spec: Any) -> None:
    _, props = synthesized.functions_by_handler()[spec.handler]
    role_id = props["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in synthesized.resources[role_id]["Properties"]
    statements = synthesized.role_statements(role_id)
    actions = {action for statement in statements for action in actions_of(statement)}

    table_id, _ = synthesized.only("AWS::DynamoDB::Table")
    bus_id, _ = synthesized.only("AWS::Events::EventBus")
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "events:PutEvents"} <= actions
    assert all("*" not in action for action in actions if not action.startswith("xray:"))
    for statement in statements:
        if "events:PutEvents" in actions_of(statement):
            assert statement["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}
        if "dynamodb:PutItem" in actions_of(statement):
            assert {"Fn::GetAtt": [table_id, "Arn"]} in statement["Resource"]
        if any(action.startswith("logs:") for action in actions_of(statement)):
            assert statement["Resource"] in _log_groups_it_may_write(synthesized, spec, props)

    started = {
        statement["Resource"]["Ref"]
        for statement in statements
        if "states:StartExecution" in actions_of(statement)
    }
    if spec.start_state_machines:
        assert started == set(synthesized.of_type("AWS::StepFunctions::StateMachine"))
    else:
        assert not started
    _assert_reads_only_its_secrets(synthesized, spec, props, statements)

    apigateway = _apigateway_grants(statements)
    if spec == API_FUNCTION:
        base = "arn:<Ref AWS::Partition>:apigateway:<Ref AWS::Region>::"
        # Members' plans only: the demo plan's one key is deployed with it, never added by the API.
        plan_keys = [
            f"{base}/usageplans/<Ref {key}>/keys"
            for name, key in synthesized.usage_plan_ids_by_name().items()
            if name != DEMO_USAGE_PLAN.name
        ]
        assert apigateway == {
            # Create a member's key and put it in the usage plan of their plan...
            "apigateway:POST": sorted([f"{base}/apikeys", *plan_keys]),
            # ...delete it when they leave, and move it to another of our usage plans with the team's plan.
            "apigateway:DELETE": sorted([f"{base}/apikeys/*", *(f"{keys}/*" for keys in plan_keys)]),
            "apigateway:GET": sorted(f"{keys}/*" for keys in plan_keys),
        }
    else:
        assert apigateway == {}

    bucket_id = synthesized.snapshot_bucket_id()
    s3_grants = {
        action: [as_text(resource) for resource in as_list(statement["Resource"])]
        for statement in statements
        for action in actions_of(statement)
        if action.startswith("s3:")
    }
    objects = [f"<GetAtt {bucket_id}.Arn>/teams/*"]
    expected_s3: dict[str, list[str]] = {}
    if spec.reads_snapshots or spec.writes_snapshots:
        # HeadObject on a manifest needs GetObject; listing finds stored chunks and turns 403 into 404.
        expected_s3 = {"s3:GetObject": objects, "s3:ListBucket": [f"<GetAtt {bucket_id}.Arn>"]}
    if spec.writes_snapshots:
        # Presigned PUTs and GETs act with these permissions; deletes remove snapshots and swept chunks.
        expected_s3 |= {"s3:PutObject": objects, "s3:DeleteObject": objects}
    assert s3_grants == expected_s3

    completes = [
        s for s in statements if {"states:SendTaskSuccess", "states:SendTaskFailure"} & set(actions_of(s))
    ]
    if spec.completes_workflow_tasks:
        # These actions take no resource-level permissions; the task token scopes each call.
        assert [(sorted(actions_of(s)), s["Resource"]) for s in completes] == [
            (["states:SendTaskFailure", "states:SendTaskSuccess"], "*")
        ]
    else:
        assert completes == []


def test_each_function_is_given_what_its_settings_require_and_nothing_they_do_not_read(
    synthesized: Synthesized,
) -> None:
    from dumont_core.platform import settings

    powertools = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}
    by_handler = synthesized.functions_by_handler()
    for spec in FUNCTIONS:
        model = getattr(settings, spec.settings)
        given = set(by_handler[spec.handler][1]["Environment"]["Variables"]) - powertools
        fields = model.model_fields.values()
        required = {field.alias for field in fields if field.is_required()}
        assert required <= given, f"{spec.name} lacks {sorted(required - given)}"
        assert given <= {field.alias for field in fields}, f"{spec.name} is given what it never reads"
    assert settings.ProviderSettings.model_fields["vast_api_url"].default == DEFAULT_VAST_API_URL


def scheduled_by(synthesized: Synthesized, expression: str = "rate(1 minute)") -> list[str]:
    """The logical ids of the functions a schedule of `expression` (every minute by default) invokes."""
    rules = [
        rule
        for rule in synthesized.of_type("AWS::Events::Rule").values()
        if rule["Properties"].get("ScheduleExpression") == expression
    ]
    return [target["Arn"]["Fn::GetAtt"][0] for rule in rules for target in rule["Properties"]["Targets"]]


def test_housekeeping_and_the_reconciler_run_every_minute(synthesized: Synthesized) -> None:
    scheduled = scheduled_by(synthesized)
    by_handler = synthesized.functions_by_handler()
    housekeeping_id, housekeeping = by_handler[HOUSEKEEPING_FUNCTION.handler]
    reconciler_id, reconciler = by_handler[RECONCILER_FUNCTION.handler]
    assert sorted(scheduled) == sorted([housekeeping_id, reconciler_id])
    environment = housekeeping["Environment"]["Variables"]
    assert {"SNAPSHOT_STATE_MACHINE_ARN", "SNAPSHOT_BUCKET", "TABLE_NAME"} <= set(environment)
    environment = reconciler["Environment"]["Variables"]
    assert {"VAST_API_KEY_SECRET_ARN", "VAST_API_URL", "TABLE_NAME"} <= set(environment)
    assert environment["MACHINE_LABEL_PREFIX"] == "dumont"


def test_the_price_collector_runs_every_five_minutes(synthesized: Synthesized) -> None:
    collector_id, collector = synthesized.functions_by_handler()[PRICE_COLLECTOR_FUNCTION.handler]
    assert scheduled_by(synthesized, "rate(5 minutes)") == [collector_id]
    environment = collector["Environment"]["Variables"]
    assert {"VAST_API_KEY_SECRET_ARN", "VAST_API_URL", "TABLE_NAME"} <= set(environment)


def test_the_reconciler_may_start_the_workflows_that_bring_an_interrupted_instance_back(
    synthesized: Synthesized,
) -> None:
    _, reconciler = synthesized.functions_by_handler()[RECONCILER_FUNCTION.handler]
    environment = reconciler["Environment"]["Variables"]
    assert {"WAKE_STATE_MACHINE_ARN", "WARMPOOL_FAILOVER_STATE_MACHINE_ARN"} <= set(environment)
    assert RECONCILER_FUNCTION.start_state_machines


def test_the_machine_label_prefix_comes_from_the_machine_label_prefix_context_value() -> None:
    built = build_app(context={**SKIP_BUNDLING, "machineLabelPrefix": "dumont-staging"})
    template = Template.from_stack(built.stack)
    for spec in (RECONCILER_FUNCTION, INSTANCE_TASKS_FUNCTION):
        (function,) = template.find_resources(
            "AWS::Lambda::Function", {"Properties": {"Handler": spec.handler}}
        ).values()
        assert function["Properties"]["Environment"]["Variables"]["MACHINE_LABEL_PREFIX"] == "dumont-staging"


def test_the_api_keeps_machines_logs_in_one_group_a_stream_per_instance(synthesized: Synthesized) -> None:
    group_id, group = synthesized.instance_log_group()
    assert group["Properties"]["RetentionInDays"] == 90
    _, api = synthesized.functions_by_handler()[API_FUNCTION.handler]
    assert api["Environment"]["Variables"]["INSTANCE_LOG_GROUP"] == {"Ref": group_id}
    role_id = api["Role"]["Fn::GetAtt"][0]
    actions = {
        action for statement in synthesized.role_statements(role_id) for action in actions_of(statement)
    }
    assert {"logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents"} <= actions
