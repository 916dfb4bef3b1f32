"""Every Lambda function of topology.FUNCTIONS, its log group, role and least-privilege grants."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnElement, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.components.layers import ARCHITECTURE, PIP_PYTHON_VERSION, RUNTIME
from infra.components.nag import WILDCARD_RESOURCE, acknowledge, arn_finding
from infra.topology import FUNCTIONS, FUNCTIONS_DIR, METRICS_NAMESPACE, SERVICE_NAME, FunctionSpec

LOG_RETENTION = logs.RetentionDays.ONE_MONTH
LOG_LEVEL = "INFO"

# Names dumont_core.settings.Settings reads (its field aliases; the infra tests check they agree).
# Not imported from there, so that synthesizing needs neither the runtime packages nor their types.
TABLE_NAME_ENV = "TABLE_NAME"
EVENT_BUS_NAME_ENV = "EVENT_BUS_NAME"
VAST_API_URL_ENV = "VAST_API_URL"
VAST_API_KEY_SECRET_ARN_ENV = "VAST_API_KEY_SECRET_ARN"
DEFAULT_VAST_API_URL = "https://console.vast.ai"
"""Settings' default too; deploy with `-c vastApiUrl=...` to point elsewhere."""


def table_resource(table: dynamodb.ITable) -> CfnElement:
    resource = table.node.default_child
    if not isinstance(resource, CfnElement):
        raise TypeError("expected a table defined in this app")
    return resource


class ProviderCredentials(Construct):
    """The Vast.ai API key, in Secrets Manager.

    Created holding a random placeholder: no key is ever in code or in the template. After the first
    deploy an operator puts the real key in with
    `aws secretsmanager put-secret-value --secret-id <VastApiKeySecretArn> --secret-string <key>`.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "VastApiKey",
            description="Vast.ai API key of the instance workflows; replace the generated placeholder",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True),
            # The real key is put in by hand: keep it if the stack is deleted or the secret replaced.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "A Vast.ai API key cannot be rotated by Secrets Manager: Vast.ai offers no API to issue "
            "and revoke keys, so an operator rotates it in the Vast.ai console and puts the new value in.",
        )


class Functions(Construct):
    """One function per FunctionSpec; all share the `functions/` code asset and both layers."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        bus: events.IEventBus,
        layers: Sequence[lambda_.ILayerVersion],
        vast_api_url: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.provider_credentials = ProviderCredentials(self, "ProviderCredentials")
        code = lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=["**/__pycache__", "**/*.pyc"])
        environment = {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "LOG_LEVEL": LOG_LEVEL,
            TABLE_NAME_ENV: table.table_name,
            EVENT_BUS_NAME_ENV: bus.event_bus_name,
            VAST_API_URL_ENV: vast_api_url or DEFAULT_VAST_API_URL,
        }
        self._by_name: dict[str, lambda_.Function] = {}
        for spec in FUNCTIONS:
            self._by_name[spec.name] = self._function(spec, code, layers, environment, table, bus)

    def _function(
        self,
        spec: FunctionSpec,
        code: lambda_.Code,
        layers: Sequence[lambda_.ILayerVersion],
        environment: dict[str, str],
        table: dynamodb.ITable,
        bus: events.IEventBus,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(self, f"{spec.name}Logs", retention=LOG_RETENTION)
        # An explicit role that may write only to this function's log group, instead of the
        # account-wide AWSLambdaBasicExecutionRole managed policy.
        role = iam.Role(
            self,
            f"{spec.name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {spec.name} function",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            spec.name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=code,
            layers=list(layers),
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            environment=dict(environment),
        )
        table.grant_read_write_data(function)
        bus.grant_put_events_to(function)
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "xray:PutTraceSegments and xray:PutTelemetryRecords, added by CDK for active tracing, "
            "support no resource-level permissions: X-Ray accepts only Resource '*'.",
            WILDCARD_RESOURCE,
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5",
            "Query on the table's global secondary indexes (an instance by id goes through GSI1); the "
            "wildcard is limited to the indexes of this one table.",
            arn_finding(table_resource(table), "/index/*"),
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            f"Pinned to Python {PIP_PYTHON_VERSION} on purpose: the dependencies layer is built from "
            f"cp{PIP_PYTHON_VERSION.replace('.', '')} wheels, and the runtime moves only together with it "
            "(RUNTIME and PIP_PYTHON_VERSION in infra/components/layers.py) after the tests pass on it.",
        )
        if spec.reads_provider_secret:
            secret = self.provider_credentials.secret
            secret.grant_read(function)
            function.add_environment(VAST_API_KEY_SECRET_ARN_ENV, secret.secret_arn)
        return function

    def __getitem__(self, spec: FunctionSpec) -> lambda_.Function:
        return self._by_name[spec.name]

    @property
    def all(self) -> list[tuple[FunctionSpec, lambda_.Function]]:
        return [(spec, self._by_name[spec.name]) for spec in FUNCTIONS]
