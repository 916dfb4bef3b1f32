"""The synthesized DumontCloud template against topology.py, table.py and pyproject.toml."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Acknowledgment, App, DockerImage, Stack, Validations
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks

from dumont_core.access.plans import PLANS
from dumont_core.platform import table
from infra.components.api import STAGE_NAME
from infra.components.functions import DEFAULT_AGENT_PACKAGE, DEFAULT_VAST_API_URL
from infra.components.layers import CopyPackageBundling, PipInstallBundling, runtime_dependencies
from infra.components.nag import MIN_REASON_LENGTH
from infra.components.snapshots import ACCESS_LOG_PREFIX
from infra.stack import build_app
from infra.topology import (
    API_FUNCTION,
    API_ROUTES,
    AUTHORIZER_FUNCTION,
    CORE_LAYER_DIR,
    DOMAIN_EVENT_SOURCE_PREFIX,
    DOMAIN_EVENTS_QUEUE_NAME,
    EVENT_BUS_NAME,
    FUNCTIONS,
    HOUSEKEEPING_FUNCTION,
    INSTANCE_LOG_GROUP_NAME,
    INSTANCE_TASKS_FUNCTION,
    REPO_ROOT,
    STATE_MACHINES,
    TASKS_FUNCTION_PLACEHOLDER,
    USAGE_PLAN_IDS_ENV,
    USAGE_PLANS,
)

from .conftest import SKIP_BUNDLING, Synthesized

_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def _only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.items()))


def _functions_by_handler(synthesized: Synthesized) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        value["Properties"]["Handler"]: (key, value["Properties"])
        for key, value in synthesized.of_type("AWS::Lambda::Function").items()
    }


def _function_id(synthesized: Synthesized, handler: str) -> str:
    return _functions_by_handler(synthesized)[handler][0]


def _policy_statements_of_role(synthesized: Synthesized, role_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in synthesized.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    """A template string value as text: `Fn::Join` joined, references written as `<Ref ...>`."""
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(_text(part) for part in parts)
    return _describe(value)


def _usage_plan_ids_by_name(synthesized: Synthesized) -> dict[str, str]:
    return {
        plan["Properties"]["UsagePlanName"]: key
        for key, plan in synthesized.of_type("AWS::ApiGateway::UsagePlan").items()
    }


# --- table ---------------------------------------------------------------------------------------


def test_table_is_on_demand_with_pitr_ttl_encryption_keys_and_gsi(synthesized: Synthesized) -> None:
    _, resource = _only(synthesized.of_type("AWS::DynamoDB::Table"))
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    props = resource["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": table.TTL_ATTRIBUTE, "Enabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    assert props["KeySchema"] == [
        {"AttributeName": table.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": table.SORT_KEY, "KeyType": "RANGE"},
    ]
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        ({"AttributeName": name, "AttributeType": "S"} for name in table.KEY_ATTRIBUTES),
        key=lambda a: a["AttributeName"],
    )
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": table.GSI1_NAME,
            "KeySchema": [
                {"AttributeName": table.GSI1_PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": table.GSI1_SORT_KEY, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]


# --- functions and layers ------------------------------------------------------------------------


def test_exactly_the_topology_functions_exist(synthesized: Synthesized) -> None:
    assert sorted(_functions_by_handler(synthesized)) == sorted(spec.handler for spec in FUNCTIONS)


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_function_runtime_architecture_tracing_layers_and_environment(
    synthesized: Synthesized, spec: Any
) -> None:
    _, props = _functions_by_handler(synthesized)[spec.handler]
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
    table_id, _ = _only(synthesized.of_type("AWS::DynamoDB::Table"))
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
        assert env["SNAPSHOT_BUCKET"] == {"Ref": _snapshot_bucket_id(synthesized)}
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
    assert [spec.name for spec in FUNCTIONS if spec.boots_agents] == [INSTANCE_TASKS_FUNCTION.name]


def test_rented_machines_install_the_agent_and_reach_the_api_stage(synthesized: Synthesized) -> None:
    from dumont_core.platform.settings import ProviderSettings

    _, props = _functions_by_handler(synthesized)[INSTANCE_TASKS_FUNCTION.handler]
    env = props["Environment"]["Variables"]
    api_id, _ = _only(synthesized.of_type("AWS::ApiGateway::RestApi"))
    stage_id, _ = _only(synthesized.of_type("AWS::ApiGateway::Stage"))
    assert _text(env["PUBLIC_API_URL"]) == (
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


def test_api_function_finds_each_plans_usage_plan_in_usage_plan_ids(synthesized: Synthesized) -> None:
    _, props = _functions_by_handler(synthesized)[API_FUNCTION.handler]
    usage_plan_ids = json.loads(_text(props["Environment"]["Variables"]["USAGE_PLAN_IDS"]))
    by_name = _usage_plan_ids_by_name(synthesized)
    assert usage_plan_ids == {spec.plan: f"<Ref {by_name[spec.name]}>" for spec in USAGE_PLANS}
    assert sorted(usage_plan_ids) == sorted(PLANS) == ["enterprise", "free", "pro"]


def _log_groups_it_may_write(synthesized: Synthesized, spec: Any, props: dict[str, Any]) -> list[Any]:
    """Its own log group; and, for the function that keeps them, the machines' log group."""
    own = {"Fn::GetAtt": [props["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]}
    machines = [
        {"Fn::GetAtt": [key, "Arn"]}
        for key, group in synthesized.of_type("AWS::Logs::LogGroup").items()
        if group["Properties"].get("LogGroupName") == INSTANCE_LOG_GROUP_NAME
    ]
    return [own, *machines] if spec.keeps_instance_logs else [own]


def _assert_reads_only_its_secrets(
    synthesized: Synthesized, spec: Any, props: dict[str, Any], statements: list[dict[str, Any]]
) -> None:
    read_secrets = [s["Resource"] for s in statements if "secretsmanager:GetSecretValue" in _actions(s)]
    expected = []
    env = props["Environment"]["Variables"]
    if spec.reads_token_secret:
        token_secret_id = _secret_id(synthesized, "TokenSigning")
        expected.append({"Ref": token_secret_id})
        assert env["JWT_SECRET_ARN"] == {"Ref": token_secret_id}
    if spec.reads_provider_secret:
        secret_id = _secret_id(synthesized, "VastApiKey")
        expected.append({"Ref": secret_id})
        assert env["VAST_API_KEY_SECRET_ARN"] == {"Ref": secret_id}
    assert sorted(map(str, read_secrets)) == sorted(map(str, expected))


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.name)
def test_function_permissions_are_least_privilege(synthesized: Synthesized, spec: Any) -> None:
    _, props = _functions_by_handler(synthesized)[spec.handler]
    role_id = props["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in synthesized.resources[role_id]["Properties"]
    statements = _policy_statements_of_role(synthesized, role_id)
    actions = {action for statement in statements for action in _actions(statement)}

    table_id, _ = _only(synthesized.of_type("AWS::DynamoDB::Table"))
    bus_id, _ = _only(synthesized.of_type("AWS::Events::EventBus"))
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "events:PutEvents"} <= actions
    assert all("*" not in action for action in actions if not action.startswith("xray:"))
    for statement in statements:
        if "events:PutEvents" in _actions(statement):
            assert statement["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}
        if "dynamodb:PutItem" in _actions(statement):
            assert {"Fn::GetAtt": [table_id, "Arn"]} in statement["Resource"]
        if any(action.startswith("logs:") for action in _actions(statement)):
            assert statement["Resource"] in _log_groups_it_may_write(synthesized, spec, props)

    started = {
        statement["Resource"]["Ref"]
        for statement in statements
        if "states:StartExecution" in _actions(statement)
    }
    if spec.start_state_machines:
        assert started == set(synthesized.of_type("AWS::StepFunctions::StateMachine"))
    else:
        assert not started
    _assert_reads_only_its_secrets(synthesized, spec, props, statements)

    apigateway = {
        action: sorted(_text(resource) for resource in _as_list(statement["Resource"]))
        for statement in statements
        for action in _actions(statement)
        if action.startswith("apigateway:")
    }
    if spec == API_FUNCTION:
        base = "arn:<Ref AWS::Partition>:apigateway:<Ref AWS::Region>::"
        plan_keys = [
            f"{base}/usageplans/<Ref {key}>/keys" for key in _usage_plan_ids_by_name(synthesized).values()
        ]
        assert apigateway == {
            # Create a member's key and put it in the usage plan of their plan...
            "apigateway:POST": sorted([f"{base}/apikeys", *plan_keys]),
            # ...and delete it when they leave.
            "apigateway:DELETE": [f"{base}/apikeys/*"],
        }
    else:
        assert apigateway == {}

    bucket_id = _snapshot_bucket_id(synthesized)
    s3_grants = {
        action: [_text(resource) for resource in _as_list(statement["Resource"])]
        for statement in statements
        for action in _actions(statement)
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
        s for s in statements if {"states:SendTaskSuccess", "states:SendTaskFailure"} & set(_actions(s))
    ]
    if spec.completes_workflow_tasks:
        # These actions take no resource-level permissions; the task token scopes each call.
        assert [(sorted(_actions(s)), s["Resource"]) for s in completes] == [
            (["states:SendTaskFailure", "states:SendTaskSuccess"], "*")
        ]
    else:
        assert completes == []


def _snapshot_bucket_id(synthesized: Synthesized) -> str:
    logged = [
        key
        for key, bucket in synthesized.of_type("AWS::S3::Bucket").items()
        if "LoggingConfiguration" in bucket["Properties"]
    ]
    assert len(logged) == 1, logged
    return logged[0]


def _access_log_bucket_id(synthesized: Synthesized) -> str:
    snapshots = synthesized.of_type("AWS::S3::Bucket")[_snapshot_bucket_id(synthesized)]
    destination: dict[str, str] = snapshots["Properties"]["LoggingConfiguration"]["DestinationBucketName"]
    return destination["Ref"]


def _bucket_policy_statements(synthesized: Synthesized, bucket_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        policy
        for policy in synthesized.of_type("AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _denies_plain_http(statements: list[dict[str, Any]], bucket_id: str) -> bool:
    return any(
        statement["Effect"] == "Deny"
        and statement["Action"] == "s3:*"
        and statement["Principal"] == {"AWS": "*"}
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and sorted(_text(r) for r in statement["Resource"])
        == [f"<GetAtt {bucket_id}.Arn>", f"<GetAtt {bucket_id}.Arn>/*"]
        for statement in statements
    )


# --- snapshot storage ----------------------------------------------------------------------------

_ENCRYPTED_WITH_S3_KEYS = {
    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
}
_ALL_PUBLIC_ACCESS_BLOCKED = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def test_snapshot_bucket_is_private_encrypted_tls_only_and_kept(synthesized: Synthesized) -> None:
    buckets = synthesized.of_type("AWS::S3::Bucket")
    assert len(buckets) == 2, "snapshots and their access logs"
    bucket_id = _snapshot_bucket_id(synthesized)
    bucket = buckets[bucket_id]
    # It holds users' workspaces: deleting the stack or replacing the bucket must not delete them.
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    props = bucket["Properties"]
    assert props["BucketEncryption"] == _ENCRYPTED_WITH_S3_KEYS
    assert props["PublicAccessBlockConfiguration"] == _ALL_PUBLIC_ACCESS_BLOCKED
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "CorsConfiguration" not in props, "agents use presigned URLs from servers, not browsers"
    assert "BucketName" not in props, "bucket names are global: let CloudFormation choose"
    assert props["LifecycleConfiguration"] == {
        "Rules": [
            {
                "Id": "AbortIncompleteMultipartUploads",
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                "Status": "Enabled",
            }
        ]
    }
    statements = _bucket_policy_statements(synthesized, bucket_id)
    assert _denies_plain_http(statements, bucket_id)
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"NumericLessThan": {"s3:TlsVersion": 1.2}}
        for s in statements
    )
    # Nothing but denials: access comes from the functions' roles only.
    assert {s["Effect"] for s in statements} == {"Deny"}


def test_snapshot_bucket_access_is_logged_to_a_private_bucket(synthesized: Synthesized) -> None:
    bucket_id = _snapshot_bucket_id(synthesized)
    logs_id = _access_log_bucket_id(synthesized)
    snapshots = synthesized.of_type("AWS::S3::Bucket")[bucket_id]
    assert snapshots["Properties"]["LoggingConfiguration"]["LogFilePrefix"] == ACCESS_LOG_PREFIX
    access_logs = synthesized.resources[logs_id]
    assert access_logs["DeletionPolicy"] == "Retain"
    props = access_logs["Properties"]
    assert props["BucketEncryption"] == _ENCRYPTED_WITH_S3_KEYS
    assert props["PublicAccessBlockConfiguration"] == _ALL_PUBLIC_ACCESS_BLOCKED
    # Delivered under a bucket policy, so the log bucket keeps ACLs disabled.
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "AccessControl" not in props
    (expire,) = [rule for rule in props["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in rule]
    assert expire["ExpirationInDays"] == 90
    statements = _bucket_policy_statements(synthesized, logs_id)
    assert _denies_plain_http(statements, logs_id)
    (delivery,) = [s for s in statements if s["Effect"] == "Allow"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert _text(delivery["Resource"]) == f"<GetAtt {logs_id}.Arn>/{ACCESS_LOG_PREFIX}*"
    assert delivery["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::GetAtt": [bucket_id, "Arn"]}}


def _secret_id(synthesized: Synthesized, name_part: str) -> str:
    matching = [key for key in synthesized.of_type("AWS::SecretsManager::Secret") if name_part in key]
    assert len(matching) == 1, matching
    return matching[0]


def test_secrets_have_no_value_in_the_template(synthesized: Synthesized) -> None:
    secrets = synthesized.of_type("AWS::SecretsManager::Secret")
    assert len(secrets) == 2, "provider key and token signing"
    for secret in secrets.values():
        assert "SecretString" not in secret["Properties"]
        assert "GenerateSecretString" in secret["Properties"]
    assert secrets[_secret_id(synthesized, "VastApiKey")]["DeletionPolicy"] == "Retain"


def test_layers_are_for_python312_on_arm64(synthesized: Synthesized) -> None:
    layers = synthesized.of_type("AWS::Lambda::LayerVersion")
    assert len(layers) == 2
    for layer in layers.values():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_dependencies_layer_installs_pyproject_dependencies_as_aarch64_cp312_wheels(tmp_path: Path) -> None:
    dependencies = runtime_dependencies()
    assert any(d.startswith("pydantic") for d in dependencies)
    command = PipInstallBundling(dependencies).pip_command(str(tmp_path))
    joined = " ".join(command)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--implementation cp" in joined
    assert "--python-version 3.12" in joined
    assert "--only-binary=:all:" in command
    assert f"--target {tmp_path / 'python'}" in joined
    assert command[-len(dependencies) :] == dependencies


def test_core_layer_bundles_dumont_core_under_python_without_byte_code(tmp_path: Path) -> None:
    package = tmp_path / "source" / "dumont_core"
    shutil.copytree(CORE_LAYER_DIR / "dumont_core", package)
    (package / "__pycache__").mkdir(exist_ok=True)
    (package / "__pycache__" / "settings.cpython-312.pyc").write_bytes(b"")
    (package / "stray.pyc").write_bytes(b"")
    output = tmp_path / "output"
    assert CopyPackageBundling(package).try_bundle(str(output), image=DockerImage.from_registry("unused"))
    bundled = output / "python" / "dumont_core"
    assert (bundled / "__init__.py").is_file()
    assert (bundled / "platform" / "table.py").is_file()
    assert not list(bundled.rglob("__pycache__"))
    assert not list(bundled.rglob("*.pyc"))


def test_each_function_is_given_what_its_settings_require_and_nothing_they_do_not_read(
    synthesized: Synthesized,
) -> None:
    from dumont_core.platform import settings

    powertools = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}
    by_handler = _functions_by_handler(synthesized)
    for spec in FUNCTIONS:
        model = getattr(settings, spec.settings)
        given = set(by_handler[spec.handler][1]["Environment"]["Variables"]) - powertools
        fields = model.model_fields.values()
        required = {field.alias for field in fields if field.is_required()}
        assert required <= given, f"{spec.name} lacks {sorted(required - given)}"
        assert given <= {field.alias for field in fields}, f"{spec.name} is given what it never reads"
    assert settings.ProviderSettings.model_fields["vast_api_url"].default == DEFAULT_VAST_API_URL


# --- state machines ------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    """A substitution value as a JSON-safe string: literals as they are, references as `<...>`."""
    if isinstance(value, str):
        return value
    if set(value) == {"Fn::GetAtt"}:
        return "<GetAtt {}.{}>".format(*value["Fn::GetAtt"])
    if set(value) == {"Ref"}:
        return f"<Ref {value['Ref']}>"
    raise AssertionError(f"unexpected substitution {value}")


def _machine_ids_by_env_var(synthesized: Synthesized) -> dict[str, str]:
    _, props = _functions_by_handler(synthesized)[API_FUNCTION.handler]
    env = props["Environment"]["Variables"]
    return {spec.arn_env_var: env[spec.arn_env_var]["Ref"] for spec in STATE_MACHINES}


def test_the_eight_state_machines_are_standard_logged_and_traced(synthesized: Synthesized) -> None:
    machines = synthesized.of_type("AWS::StepFunctions::StateMachine")
    assert len(machines) == len(STATE_MACHINES) == 8
    assert {spec.name for spec in STATE_MACHINES} >= {"SnapshotInstance", "RestoreSnapshot", "WakeInstance"}
    assert sorted(_machine_ids_by_env_var(synthesized).values()) == sorted(machines)
    for machine in machines.values():
        props = machine["Properties"]
        assert props["StateMachineType"] == "STANDARD"
        assert props["TracingConfiguration"] == {"Enabled": True}
        assert props["LoggingConfiguration"]["Level"] in {"ALL", "ERROR"}
        assert props["LoggingConfiguration"]["Destinations"]


@pytest.mark.parametrize("spec", STATE_MACHINES, ids=lambda spec: spec.name)
def test_state_machine_definition_is_filled_with_the_tasks_function_arn(
    synthesized: Synthesized, spec: Any
) -> None:
    machine_id = _machine_ids_by_env_var(synthesized)[spec.arn_env_var]
    props = synthesized.resources[machine_id]["Properties"]
    definition = synthesized.asset_text(props["DefinitionS3Location"]["Key"])
    assert json.loads(definition) == json.loads(spec.asl_file.read_text())

    substitutions = props["DefinitionSubstitutions"]
    tasks_id = _function_id(synthesized, INSTANCE_TASKS_FUNCTION.handler)
    assert substitutions[TASKS_FUNCTION_PLACEHOLDER] == {"Fn::GetAtt": [tasks_id, "Arn"]}
    assert set(_PLACEHOLDER.findall(definition)) <= set(substitutions)
    # What Step Functions receives once CloudFormation substituted the values.
    rendered = _PLACEHOLDER.sub(lambda match: _describe(substitutions[match.group(1)]), definition)
    assert "${" not in rendered
    for key, value in spec.substitutions.items():
        assert substitutions[key] == value
    # Tasks that wait for an agent invoke the function too, and need the same permission.
    invoked = {
        state["Parameters"]["FunctionName"]
        for state in json.loads(rendered)["States"].values()
        if state.get("Resource", "").startswith("arn:aws:states:::lambda:invoke")
    }
    assert invoked == {f"<GetAtt {tasks_id}.Arn>"}

    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    invoke = [
        s for s in _policy_statements_of_role(synthesized, role_id) if "lambda:InvokeFunction" in _actions(s)
    ]
    assert [s["Resource"] for s in invoke] == [{"Fn::GetAtt": [tasks_id, "Arn"]}]


# --- events --------------------------------------------------------------------------------------


def test_bus_rule_queue_and_dead_letter_queue(synthesized: Synthesized) -> None:
    bus_id, bus = _only(synthesized.of_type("AWS::Events::EventBus"))
    assert bus["Properties"]["Name"] == EVENT_BUS_NAME == "dumont"

    queues = synthesized.of_type("AWS::SQS::Queue")
    assert len(queues) == 2
    by_name = {queue["Properties"]["QueueName"]: key for key, queue in queues.items()}
    queue_id, dlq_id = by_name[DOMAIN_EVENTS_QUEUE_NAME], by_name[f"{DOMAIN_EVENTS_QUEUE_NAME}-dlq"]
    assert queues[queue_id]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": [dlq_id, "Arn"]
    }
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    enforced = set()
    for policy in synthesized.of_type("AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                enforced.update(queue["Ref"] for queue in policy["Properties"]["Queues"])
    assert enforced == {queue_id, dlq_id}

    (rule,) = [
        rule
        for rule in synthesized.of_type("AWS::Events::Rule").values()
        if "EventBusName" in rule["Properties"]
    ]
    props = rule["Properties"]
    assert props["EventBusName"] == {"Ref": bus_id}
    assert props["EventPattern"] == {"source": [{"prefix": DOMAIN_EVENT_SOURCE_PREFIX}]}
    (target,) = props["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}}


# --- API -----------------------------------------------------------------------------------------


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
    api_function_id, api_function = _functions_by_handler(synthesized)[API_FUNCTION.handler]
    api_function_name = api_function["FunctionName"]
    methods = synthesized.of_type("AWS::ApiGateway::Method")
    assert len(methods) == len(API_ROUTES)
    authorizer_id, authorizer = _only(synthesized.of_type("AWS::ApiGateway::Authorizer"))
    assert authorizer["Properties"]["Type"] == "REQUEST"
    assert authorizer["Properties"]["AuthorizerResultTtlInSeconds"] == 0, "revoked keys stop at once"
    authorizer_uri = json.dumps(authorizer["Properties"]["AuthorizerUri"])
    assert _function_id(synthesized, AUTHORIZER_FUNCTION.handler) in authorizer_uri
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
        assert _text(props["Integration"]["Uri"]).endswith(f":function:{api_function_name}/invocations")
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
    _, api = _only(synthesized.of_type("AWS::ApiGateway::RestApi"))
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"
    _, stage = _only(synthesized.of_type("AWS::ApiGateway::Stage"))
    props = stage["Properties"]
    assert props["StageName"] == STAGE_NAME
    assert props["TracingEnabled"] is True
    assert "DestinationArn" in props["AccessLogSetting"]
    assert json.loads(props["AccessLogSetting"]["Format"])["requestId"] == "$context.requestId"
    assert {"HttpMethod": "*", "ResourcePath": "/*", "LoggingLevel": "ERROR"}.items() <= {
        **props["MethodSettings"][0]
    }.items()
    _only(synthesized.of_type("AWS::ApiGateway::Account"))
    validators = synthesized.of_type("AWS::ApiGateway::RequestValidator")
    assert [v["Properties"]["ValidateRequestParameters"] for v in validators.values()] == [True]
    permissions = [
        permission
        for permission in synthesized.of_type("AWS::Lambda::Permission").values()
        if permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert len(permissions) == 2, "one for the API function, one for the authorizer"
    invoked = sorted(p["Properties"]["FunctionName"]["Fn::GetAtt"][0] for p in permissions)
    assert invoked == sorted(
        _function_id(synthesized, spec.handler) for spec in (API_FUNCTION, AUTHORIZER_FUNCTION)
    )


def test_three_usage_plans_with_throttles_per_second_and_daily_quotas(synthesized: Synthesized) -> None:
    api_id, _ = _only(synthesized.of_type("AWS::ApiGateway::RestApi"))
    stage_id, _ = _only(synthesized.of_type("AWS::ApiGateway::Stage"))
    plans = {
        plan["Properties"]["UsagePlanName"]: plan["Properties"]
        for plan in synthesized.of_type("AWS::ApiGateway::UsagePlan").values()
    }
    assert sorted(plans) == sorted(spec.name for spec in USAGE_PLANS) == ["Enterprise", "Free", "Pro"]
    assert sorted(spec.plan for spec in USAGE_PLANS) == sorted(PLANS)
    for spec in USAGE_PLANS:
        sold = PLANS[spec.plan]
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


def test_no_usage_keys_in_the_template(synthesized: Synthesized) -> None:
    """Usage keys are per team member, created by the API function: none shared, none deployed."""
    assert synthesized.of_type("AWS::ApiGateway::ApiKey") == {}
    assert synthesized.of_type("AWS::ApiGateway::UsagePlanKey") == {}


def test_api_url_is_an_output(synthesized: Synthesized) -> None:
    outputs = synthesized.template.to_json()["Outputs"]
    assert "ApiUrl" in outputs
    assert "execute-api" in json.dumps(outputs["ApiUrl"]["Value"])


# --- cdk-nag -------------------------------------------------------------------------------------


def test_no_unacknowledged_cdk_nag_errors_or_warnings(synthesized: Synthesized) -> None:
    report = synthesized.built.nag.validate_scope(synthesized.built.app)
    assert [violation.rule_name for violation in report.violations] == []
    assert report.success
    annotations = Annotations.from_stack(synthesized.built.stack)
    assert annotations.find_error("*", Match.any_value()) == []
    assert annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*")) == []


def test_every_acknowledgment_names_a_rule_and_says_why(synthesized: Synthesized) -> None:
    acknowledged: dict[str, set[str]] = {}
    for key, resource in synthesized.resources.items():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            assert re.fullmatch(r"AwsSolutions-[A-Z]+\d+(\[.+\])?", rule["id"]), rule
            assert len(rule["reason"]) >= MIN_REASON_LENGTH, rule
            acknowledged.setdefault(rule["id"].split("[")[0], set()).add(key)
    assert set(acknowledged) == {
        "AwsSolutions-APIG3",
        "AwsSolutions-APIG4",
        "AwsSolutions-COG4",
        "AwsSolutions-IAM4",
        "AwsSolutions-IAM5",
        "AwsSolutions-L1",
        "AwsSolutions-S1",
        "AwsSolutions-SMG4",
    }
    # Not blanket: nothing is acknowledged on the stack as a whole, nor on every resource.
    assert "cdk_nag" not in synthesized.template.to_json().get("Metadata", {})
    assert len(set().union(*acknowledged.values())) < len(synthesized.resources) / 2


def test_the_nag_check_does_catch_a_finding() -> None:
    app = App(context={"aws:cdk:bundling-stacks": []})
    stack = Stack(app, "Probe")
    sqs.Queue(stack, "Plain", enforce_ssl=False)
    acknowledged = sqs.Queue(stack, "Acknowledged", enforce_ssl=False)
    Validations.of(acknowledged).acknowledge(
        Acknowledgment(id="AwsSolutions-SQS4", reason="only here to show an acknowledgment is honoured")
    )
    nag = AwsSolutionsChecks(app)
    rules = {
        violation.rule_name: [r.construct_path for r in violation.violating_resources]
        for violation in nag.validate_scope(app).violations
    }
    assert rules["AwsSolutions-SQS4"] == ["Probe/Plain/Resource"]


def _references(value: Any) -> set[str]:
    """Logical ids `value` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref":
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".")[0])
            elif key == "Fn::Sub":
                text, variables = (item, {}) if isinstance(item, str) else item
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= _references(variables)
            else:
                found |= _references(item)
    return found


def test_the_template_has_no_circular_dependencies(synthesized: Synthesized) -> None:
    """CloudFormation rejects a circular template only when deploying; CDK does not look within a stack.

    The tasks function's PUBLIC_API_URL names the API stage, whose methods must keep reaching the API
    function by name (see PublicApi) for this to hold.
    """
    resources = synthesized.resources
    depends_on: dict[str, set[str]] = {}
    for key, resource in resources.items():
        explicit = resource.get("DependsOn", [])
        named = _references(resource.get("Properties", {})) | set(_as_list(explicit))
        depends_on[key] = named & set(resources)
    done: set[str] = set()

    def visit(key: str, path: list[str]) -> None:
        for dependency in sorted(depends_on[key]):
            assert dependency not in path, " -> ".join([*path[path.index(dependency) :], dependency])
            if dependency not in done:
                visit(dependency, [*path, dependency])
        done.add(key)

    for key in sorted(resources):
        if key not in done:
            visit(key, [key])


def test_the_task_completion_acknowledgment_covers_only_its_own_policy(synthesized: Synthesized) -> None:
    completing = [
        policy
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if any(
            "states:SendTaskSuccess" in _actions(s)
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )
    ]
    (policy,) = completing
    # Alone in its policy: the acknowledged `Resource::*` covers nothing else.
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(_actions(statement)) == ["states:SendTaskFailure", "states:SendTaskSuccess"]
    acknowledged = [rule["id"] for rule in policy["Metadata"]["cdk_nag"]["rules_to_suppress"]]
    assert acknowledged == ["AwsSolutions-IAM5[Resource::*]"]


def test_repository_layout_assumptions() -> None:
    assert (REPO_ROOT / "cdk.json").is_file()
    assert json.loads((REPO_ROOT / "cdk.json").read_text())["app"] == ".venv/bin/python infra/app.py"


def test_gateway_errors_speak_the_api_error_envelope(synthesized: Synthesized) -> None:
    responses = synthesized.of_type("AWS::ApiGateway::GatewayResponse")
    by_type = {props["Properties"]["ResponseType"]: props["Properties"] for props in responses.values()}
    assert by_type["INVALID_API_KEY"]["StatusCode"] == "401"
    assert by_type["THROTTLED"]["StatusCode"] == "429"
    assert by_type["QUOTA_EXCEEDED"]["StatusCode"] == "429"
    for properties in by_type.values():
        body = json.loads(properties["ResponseTemplates"]["application/json"])
        assert body["success"] is False
        assert body["error"]["code"] and body["error"]["message"]


def test_housekeeping_runs_every_minute_and_may_start_hibernations(synthesized: Synthesized) -> None:
    rules = [
        rule
        for rule in synthesized.of_type("AWS::Events::Rule").values()
        if rule["Properties"].get("ScheduleExpression") == "rate(1 minute)"
    ]
    assert len(rules) == 1
    housekeeping_id, housekeeping = _functions_by_handler(synthesized)[HOUSEKEEPING_FUNCTION.handler]
    (target,) = rules[0]["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [housekeeping_id, "Arn"]}
    environment = housekeeping["Environment"]["Variables"]
    assert {"SNAPSHOT_STATE_MACHINE_ARN", "SNAPSHOT_BUCKET", "TABLE_NAME"} <= set(environment)


def test_the_api_keeps_machines_logs_in_one_group_a_stream_per_instance(synthesized: Synthesized) -> None:
    groups = [
        group
        for group in synthesized.of_type("AWS::Logs::LogGroup").values()
        if group["Properties"].get("LogGroupName") == INSTANCE_LOG_GROUP_NAME
    ]
    assert len(groups) == 1 and groups[0]["Properties"]["RetentionInDays"] == 90
    _, api = _functions_by_handler(synthesized)[API_FUNCTION.handler]
    assert api["Environment"]["Variables"]["INSTANCE_LOG_GROUP"] == {
        "Ref": next(
            key
            for key, group in synthesized.of_type("AWS::Logs::LogGroup").items()
            if group["Properties"].get("LogGroupName") == INSTANCE_LOG_GROUP_NAME
        )
    }
    role_id = api["Role"]["Fn::GetAtt"][0]
    actions = {
        action
        for statement in _policy_statements_of_role(synthesized, role_id)
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert {"logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents"} <= actions
