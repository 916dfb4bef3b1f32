"""The DumontCloud stack, and the CDK app that checks it with cdk-nag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import App, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infra.components.api import PublicApi
from infra.components.data import DataStore
from infra.components.event_schemas import EventSchemas
from infra.components.events import DomainEvents
from infra.components.functions import BILLING_CONTEXT, CPU_STANDBY_CONTEXT, Functions
from infra.components.layers import SharedLayers
from infra.components.live import LiveMetricsApi
from infra.components.snapshots import SnapshotStorage
from infra.components.webhooks import WebhookDeliveries
from infra.components.workflows import Workflows
from infra.topology import (
    API_FUNCTION,
    AUTHORIZER_FUNCTION,
    DOMAIN_EVENTS_QUEUE_NAME,
    INSTANCE_TASKS_FUNCTION,
    LIVE_METRICS_FUNCTION,
    WEBHOOK_DELIVERIES_QUEUE_NAME,
)

STACK_NAME = "DumontCloud"


class DumontCloudStack(Stack):
    """Context values (`cdk synth -c key=value`):

    - `vastApiUrl`: the Vast.ai API the instance workflows talk to (default https://console.vast.ai);
    - `agentPackage`: what a rented machine's first boot `pip install`s as our agent: a requirement
      such as `dumont-agent==1.2.0` or the URL of a wheel (default `dumont-agent`);
    - `machineLabelPrefix`: names this deployment in the labels of the machines it rents (default
      `dumont`); two deployments renting with one provider account need different ones;
    - `cpuStandbyAmiId`, `cpuStandbySubnetId` (a public subnet), `cpuStandbySecurityGroupId` (SSH in)
      and `cpuStandbyInstanceType` (default m7i.large): the EC2 machines of the `cpu_standby` failover
      strategy; without an AMI and a subnet its instances fail over from their last checkpoint;
    - `platformMargin` (default 0), `trialCreditUsd` (0), `lowBalanceThresholdUsd` (10),
      `storagePricePerGbMonth` (0.023), `checkoutSuccessUrl` and `checkoutCancelUrl` (where Stripe
      Checkout sends payers back; set them to your own pages): billing's settings, in every function
      that reads them.
    """

    def __init__(self, scope: Construct, construct_id: str = STACK_NAME, **kwargs: Any) -> None:
        super().__init__(
            scope, construct_id, description="Dumont Cloud serverless GPU-cloud control plane", **kwargs
        )
        self.data = DataStore(self, "Data")
        self.events = DomainEvents(self, "Events")
        self.event_schemas = EventSchemas(self, "EventSchemas")
        self.layers = SharedLayers(self, "Layers")
        self.snapshots = SnapshotStorage(self, "Snapshots")
        self.functions = Functions(
            self,
            "Functions",
            table=self.data.table,
            bus=self.events.bus,
            layers=self.layers.all,
            snapshots=self.snapshots,
            vast_api_url=self.node.try_get_context("vastApiUrl"),
            agent_package=self.node.try_get_context("agentPackage"),
            machine_label_prefix=self.node.try_get_context("machineLabelPrefix"),
            stripe_secret_name=self.node.try_get_context("stripeSecretName"),
            cpu_standby={
                variable: str(value)
                for context, variable in CPU_STANDBY_CONTEXT.items()
                if (value := self.node.try_get_context(context))
            },
            billing={
                variable: str(value)
                for context, variable in BILLING_CONTEXT.items()
                if (value := self.node.try_get_context(context)) is not None
            },
        )
        self.webhooks = WebhookDeliveries(self, "Webhooks")
        queues = {
            DOMAIN_EVENTS_QUEUE_NAME: self.events.queue,
            WEBHOOK_DELIVERIES_QUEUE_NAME: self.webhooks.queue,
        }
        for spec, function in self.functions.all:
            self.webhooks.connect(spec, function, queues)
        self.workflows = Workflows(
            self,
            "Workflows",
            tasks_function=self.functions[INSTANCE_TASKS_FUNCTION],
            starters=[function for spec, function in self.functions.all if spec.start_state_machines],
            task_completers=[
                function for spec, function in self.functions.all if spec.completes_workflow_tasks
            ],
        )
        self.rest_api = PublicApi(
            self,
            "Api",
            handler=self.functions[API_FUNCTION],
            authorizer_function=self.functions[AUTHORIZER_FUNCTION],
        )
        # The stage URL refers to the REST API and its stage, the stage to its deployment and methods.
        # No cycle: the methods reach the API function by name (see PublicApi), and nothing in the
        # REST API refers to the tasks function or to the state machines that do.
        self.functions.point_agents_at(self.rest_api.url)
        self.live_metrics = LiveMetricsApi(
            self,
            "LiveMetrics",
            handler=self.functions[LIVE_METRICS_FUNCTION],
            publishers=[function for spec, function in self.functions.all if spec.pushes_live_metrics],
        )
        for spec, function in self.functions.all:
            if spec.every_minutes is not None:
                events.Rule(
                    self,
                    f"{spec.name}Schedule",
                    description=f"Runs {spec.name}: {spec.description}",
                    schedule=events.Schedule.rate(Duration.minutes(spec.every_minutes)),
                    targets=[targets.LambdaFunction(function, retry_attempts=0)],
                )

        CfnOutput(self, "ApiUrl", value=self.rest_api.url, description="Base URL of the REST API stage")
        CfnOutput(
            self,
            "LiveMetricsUrl",
            value=self.live_metrics.url,
            description="Where WebSocket clients receive an instance's live metrics",
        )
        CfnOutput(
            self,
            "VastApiKeySecretArn",
            value=self.functions.provider_credentials.secret.secret_arn,
            description="Put the Vast.ai API key in this secret after the first deploy",
        )
        CfnOutput(
            self,
            "TableName",
            value=self.data.table.table_name,
            description="The table `python -m infra.bootstrap_operator` makes the first operator in",
        )
        CfnOutput(
            self,
            "StripeSecretArn",
            value=self.functions.payment_credentials.secret.secret_arn,
            description='Put {"api_key": "sk_...", "webhook_secret": "whsec_..."} here to take payments',
        )


@dataclass(frozen=True)
class DumontCloudApp:
    app: App
    stack: DumontCloudStack
    nag: AwsSolutionsChecks


def build_app(context: Mapping[str, Any] | None = None, outdir: str | None = None) -> DumontCloudApp:
    """The app with its one stack, checked by cdk-nag's AWS Solutions pack on synthesis.

    cdk-nag 3 is a CDK policy-validation plugin: any finding not acknowledged with
    `Validations.of(construct).acknowledge(...)` fails synthesis with a report. Acknowledgments are
    also written into the template metadata (`cdk_nag.rules_to_suppress`) as an audit trail.
    Pass `{"aws:cdk:bundling-stacks": []}` as context to synthesize without building the layers.
    """
    app = App(context=dict(context or {}), outdir=outdir)
    stack = DumontCloudStack(app)
    nag = AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    Validations.of(app).add_plugins(nag)
    return DumontCloudApp(app=app, stack=stack, nag=nag)
