"""What gets deployed, described once for both the CDK app and the local stack.

Kept free of `aws_cdk` imports so the local stack can read it without loading CDK. Both sides
create the same functions (same handler names and environment variable names), the same state
machines from the same ASL files and substitutions, the same table and bus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from dumont_core.access.plans import PLANS
from dumont_core.platform.settings import WebhookSettings
from dumont_core.webhooks.retries import Backoff, receive_limit

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
CORE_LAYER_DIR = REPO_ROOT / "layers" / "core"
STATE_MACHINES_DIR = Path(__file__).resolve().parent / "statemachines"

EVENT_BUS_NAME = "dumont"
DOMAIN_EVENTS_QUEUE_NAME = "domain-events"
"""Every domain event lands here (for the webhook fan-out); failures go to `<name>-dlq`."""
WEBHOOK_DELIVERIES_QUEUE_NAME = "webhook-deliveries"
"""Deliveries waiting to be sent (or retried) to webhook receivers; given up ones go to `<name>-dlq`."""
WEBHOOK_DELIVERIES_MAX_RECEIVES = receive_limit(
    Backoff(
        WebhookSettings.model_fields["webhook_retry_base_seconds"].default,
        WebhookSettings.model_fields["webhook_retry_max_seconds"].default,
    ),
    timedelta(hours=WebhookSettings.model_fields["webhook_give_up_hours"].default),
)
"""Made from the retry settings AWS runs with, for twice the receives a delivery's retries take over its
retry period: the sender moves a delivery to the dead-letter queue itself when that period ends; this
catches a message the sender cannot even read. The sender is told it (`WEBHOOK_DELIVERY_MAX_RECEIVES`)
and gives up at the last receive but one, should the queue's receives run out first."""
DOMAIN_EVENT_SOURCE_PREFIX = "dumont."
SERVICE_NAME = "dumont-cloud"
METRICS_NAMESPACE = "DumontCloud"

# Placeholder in the ASL files replaced by the ARN of the workflow tasks function.
TASKS_FUNCTION_PLACEHOLDER = "InstanceTasksFunctionArn"


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: str
    """Module path relative to `functions/`, as Lambda's handler setting spells it."""
    settings: str
    """The settings model its handler checks at cold start (in `dumont_core.platform.settings`)."""
    description: str
    memory_mb: int = 512
    timeout_seconds: int = 29
    start_state_machines: bool = False
    reads_provider_secret: bool = False
    reads_token_secret: bool = False
    """Signs or verifies access tokens with the secret in JWT_SECRET_ARN."""
    takes_payments: bool = False
    """Takes payments for credits through Stripe, with the keys in the secret STRIPE_SECRET_ARN names."""
    reads_snapshots: bool = False
    """Reads the snapshot bucket named by SNAPSHOT_BUCKET: lists chunks, reads digest lists and manifests."""
    writes_snapshots: bool = False
    """Also writes and deletes snapshot objects, and presigns the agents' uploads and downloads."""
    completes_workflow_tasks: bool = False
    """Hands an agent's report on an action to the workflow task waiting for it by its task token."""
    boots_agents: bool = False
    """Rents machines whose first boot installs our agent, pointed at the API (PUBLIC_API_URL)."""
    keeps_instance_logs: bool = False
    """Writes the lines agents ship, and reads them back, in the instance log group."""
    runs_cpu_standbys: bool = False
    """Launches, starts, stops or terminates the EC2 machines of the `cpu_standby` failover strategy, or
    looks them up (CPU_STANDBY_* settings, MACHINE_LABEL_PREFIX)."""
    every_minutes: int | None = None
    """Invoked on this schedule (an EventBridge rule; the local stack ticks it itself, more often)."""
    consumes_queue: str | None = None
    """Invoked with batches of this SQS queue's messages, reporting the ones it failed on (an event
    source mapping in AWS; the local stack polls the queue itself the same way)."""
    queues_webhooks: bool = False
    """Queues webhook deliveries (WEBHOOK_DELIVERY_QUEUE_URL)."""
    sends_webhooks: bool = False
    """Sends webhook deliveries: delays their retries and moves given up ones to the dead-letter queue
    (WEBHOOK_DEAD_LETTER_QUEUE_URL)."""
    pushes_live_metrics: bool = False
    """Posts heartbeats to the WebSocket connections watching an instance, through the WebSocket API's
    Management API (LIVE_METRICS_ENDPOINT)."""


@dataclass(frozen=True)
class StateMachineSpec:
    name: str
    asl_file: Path
    arn_env_var: str
    """Environment variable through which functions find this state machine."""
    substitutions: dict[str, str] = field(default_factory=dict)
    """Fixed `${Placeholder}` values; the tasks function ARN is added by whoever deploys."""


API_FUNCTION = FunctionSpec(
    name="Api",
    handler="api.handler.lambda_handler",
    settings="ApiSettings",
    description="Every REST route of the Dumont Cloud API",
    memory_mb=1024,
    start_state_machines=True,
    reads_token_secret=True,
    reads_snapshots=True,
    writes_snapshots=True,
    completes_workflow_tasks=True,
    keeps_instance_logs=True,
    # A drill hands the instance to its CPU standby; turning failover off terminates the standby.
    runs_cpu_standbys=True,
    queues_webhooks=True,
    # Live offers and the GPU advisor ask the provider what is offered now.
    reads_provider_secret=True,
    # Each agent heartbeat is pushed to the WebSocket connections watching its instance.
    pushes_live_metrics=True,
    # Adding credits begins a Stripe Checkout; Stripe's webhook is verified with the endpoint's secret.
    takes_payments=True,
)
AUTHORIZER_FUNCTION = FunctionSpec(
    name="Authorizer",
    handler="authorizer.handler.lambda_handler",
    settings="AuthorizerSettings",
    description="Resolves a bearer token or API key to the calling account, team, role and plan",
    memory_mb=512,
    timeout_seconds=10,
    reads_token_secret=True,
)
INSTANCE_LOG_GROUP_NAME = "/dumont/instances"
"""CloudWatch Logs group of the machines' logs, one stream per instance (INSTANCE_LOG_GROUP)."""
INSTANCE_TASKS_FUNCTION = FunctionSpec(
    name="InstanceTasks",
    handler="workflows.instance_tasks.lambda_handler",
    settings="InstanceTasksSettings",
    description="Steps of the instance workflows: choose offers, talk to the provider, record state",
    # Renting may try several offers, each call retried with backoff against a slow provider.
    timeout_seconds=300,
    reads_provider_secret=True,
    # Verifies a finished snapshot in S3 before a hibernation destroys the machine.
    reads_snapshots=True,
    boots_agents=True,
    runs_cpu_standbys=True,
)
HOUSEKEEPING_FUNCTION = FunctionSpec(
    name="Housekeeping",
    handler="schedules.housekeeping.lambda_handler",
    settings="HousekeepingSettings",
    description="Hibernates idle serverless instances; sweeps chunks no snapshot uses any more",
    timeout_seconds=300,
    start_state_machines=True,
    writes_snapshots=True,
    # Keeps the CPU standbys in sync and terminates those nobody keeps; their first boot starts our agent.
    runs_cpu_standbys=True,
    boots_agents=True,
    # Missed runs are harmless: the next idle check sees the same window, the next sweep the same chunks.
    every_minutes=1,
)
RECONCILER_FUNCTION = FunctionSpec(
    name="Reconciler",
    handler="schedules.reconciler.lambda_handler",
    settings="ReconcilerSettings",
    description="Destroys the machines rented under our labels that no instance owns any more",
    # A pass lists the machines, reads each one's record, and may destroy a few, each with retries.
    timeout_seconds=120,
    reads_provider_secret=True,
    # An interrupted instance with failover on is brought back through a workflow, on its standby or not.
    start_state_machines=True,
    runs_cpu_standbys=True,
    every_minutes=1,
)
WEBHOOK_FAN_OUT_FUNCTION = FunctionSpec(
    name="WebhookFanOut",
    handler="consumers.webhook_fan_out.lambda_handler",
    settings="WebhookFanOutSettings",
    description="Writes and queues one webhook delivery per subscription that wants a domain event",
    timeout_seconds=60,
    consumes_queue=DOMAIN_EVENTS_QUEUE_NAME,
    queues_webhooks=True,
)
WEBHOOK_SENDER_FUNCTION = FunctionSpec(
    name="WebhookSender",
    handler="consumers.webhook_sender.lambda_handler",
    settings="WebhookSendingSettings",
    description="POSTs signed webhook deliveries to their receivers, retrying failures with backoff",
    # A batch of ten, each POST given at most a few seconds.
    timeout_seconds=120,
    consumes_queue=WEBHOOK_DELIVERIES_QUEUE_NAME,
    queues_webhooks=True,
    sends_webhooks=True,
)
LIVE_METRICS_FUNCTION = FunctionSpec(
    name="LiveMetrics",
    handler="live_metrics.handler.lambda_handler",
    settings="LiveConnectionSettings",
    description="Lets WebSocket connections watch an instance's live metrics, and forgets closed ones",
    timeout_seconds=10,
    reads_token_secret=True,
)
LIVE_METRICS_PATH = "/ws/instance/{instance_id}/metrics"
"""Where clients open a WebSocket to an instance's live metrics (seed 002)."""
PRICE_COLLECTOR_FUNCTION = FunctionSpec(
    name="PriceCollector",
    handler="schedules.prices.lambda_handler",
    settings="PriceCollectorSettings",
    description="Collects what every GPU type costs at each provider, and rolls up the hours that ended",
    # A search per GPU type and provider, each retried with backoff against a slow provider.
    timeout_seconds=120,
    reads_provider_secret=True,
    # A missed run leaves a hole of five minutes in the history, which the hourly rollup absorbs.
    every_minutes=5,
)
FUNCTIONS: tuple[FunctionSpec, ...] = (
    API_FUNCTION,
    AUTHORIZER_FUNCTION,
    INSTANCE_TASKS_FUNCTION,
    HOUSEKEEPING_FUNCTION,
    RECONCILER_FUNCTION,
    WEBHOOK_FAN_OUT_FUNCTION,
    WEBHOOK_SENDER_FUNCTION,
    PRICE_COLLECTOR_FUNCTION,
    LIVE_METRICS_FUNCTION,
)


def _state_machine(workflow: str, name: str, asl: str, **substitutions: str) -> StateMachineSpec:
    """The state machine that carries out `workflow`, which functions find through the variable
    `<WORKFLOW>_STATE_MACHINE_ARN` (the names `WorkflowSettings` reads)."""
    return StateMachineSpec(
        name=name,
        asl_file=STATE_MACHINES_DIR / f"{asl}.asl.json",
        arn_env_var=f"{workflow.upper()}_STATE_MACHINE_ARN",
        substitutions=substitutions,
    )


STATE_MACHINES: tuple[StateMachineSpec, ...] = (
    _state_machine("provision", "ProvisionInstance", "provision_instance"),
    _state_machine("start", "StartInstance", "instance_power_action", PowerAction="start"),
    _state_machine("stop", "StopInstance", "instance_power_action", PowerAction="stop"),
    _state_machine("reboot", "RebootInstance", "instance_power_action", PowerAction="reboot"),
    _state_machine("destroy", "DestroyInstance", "destroy_instance"),
    _state_machine("snapshot", "SnapshotInstance", "snapshot_instance"),
    _state_machine("restore", "RestoreSnapshot", "restore_snapshot"),
    _state_machine("wake", "WakeInstance", "wake_instance"),
    _state_machine("cpu_failover", "CpuFailover", "cpu_failover"),
    _state_machine("warmpool_standby", "PrepareWarmStandby", "warmpool_standby"),
    _state_machine("warmpool_failover", "WarmPoolFailover", "warmpool_failover"),
)


def render_asl(spec: StateMachineSpec, tasks_function_arn: str) -> str:
    """The ASL document with every `${Placeholder}` filled, as Step Functions receives it."""
    text = spec.asl_file.read_text()
    values = {**spec.substitutions, TASKS_FUNCTION_PLACEHOLDER: tasks_function_arn}
    for key, value in values.items():
        text = text.replace("${" + key + "}", value)
    if "${" in text:
        raise ValueError(f"{spec.asl_file.name} has a placeholder nobody fills")
    return text


OPENAPI_FILE = FUNCTIONS_DIR / "api" / "openapi.json"
"""The API's OpenAPI document, written from the routes by `make openapi` and checked against them by
the tests: the one list of routes, which API Gateway deploys too."""
CALLER_EXTENSION = "x-dumont-caller"
WEBSOCKET_EXTENSION = "x-dumont-websocket"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    caller: Literal["anyone", "member", "agent"] = "member"
    """Who calls it: `anyone` needs no credentials (documentation, health, login); a `member`'s requests
    are counted against their plan, in API Gateway too (an API key is required, which the authorizer
    names); an `agent` is an instance's agent, authorized but counted against no plan."""

    @property
    def public(self) -> bool:
        return self.caller == "anyone"

    @property
    def metered(self) -> bool:
        return self.caller == "member"


def routes_of(document: dict[str, Any]) -> tuple[Route, ...]:
    """Every operation of an OpenAPI document the REST API serves, as API Gateway deploys it: live
    metrics, documented there too, are the WebSocket API's (`infra.components.live`)."""
    return tuple(
        Route(method.upper(), path, operation.get(CALLER_EXTENSION, "member"))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not operation.get(WEBSOCKET_EXTENSION)
    )


API_ROUTES: tuple[Route, ...] = routes_of(json.loads(OPENAPI_FILE.read_text()))
"""Every route API Gateway exposes; all of them go to the API function."""


@dataclass(frozen=True)
class UsagePlanSpec:
    """The API Gateway usage plan of one plan we sell: its throttle and daily quota per API key."""

    plan: str
    """The plan's name in `dumont_core.access.plans.PLANS`, and its key in USAGE_PLAN_IDS."""
    name: str
    """The usage plan's name in API Gateway."""
    requests_per_minute: int
    requests_per_day: int | None
    """None: no daily cap."""


USAGE_PLANS: tuple[UsagePlanSpec, ...] = tuple(
    UsagePlanSpec(
        plan=plan.name,
        name=plan.name.capitalize(),
        requests_per_minute=plan.requests_per_minute,
        requests_per_day=plan.requests_per_day,
    )
    for plan in PLANS.values()
)
"""One usage plan per plan we sell, with that plan's request limits.

Throttles and quotas apply per API key: the API function gives every team member a key of their own
in their plan's usage plan, and the authorizer names that key for each of the member's requests.
"""

USAGE_PLAN_IDS_ENV = "USAGE_PLAN_IDS"
"""Environment variable holding `{"<plan>": "<usage plan id>", ...}` as JSON, for every plan above."""

DEMO_USAGE_PLAN = UsagePlanSpec(plan="demo", name="Demo", requests_per_minute=300, requests_per_day=20_000)
"""Demo mode without credentials (`?demo=true`): the authorizer names this plan's one key for every such
request, so its throttle and quota bound all of them together, at API Gateway, before our code runs. Each
address is further held to its own allowance by the authorizer (`DEMO_REQUESTS_PER_ADDRESS`)."""
DEMO_USAGE_KEY_ENV = "DEMO_USAGE_KEY"
"""The authorizer's variable holding the value of the demo usage plan's key."""
DEMO_USAGE_KEY_PREFIX = "dumont-demo-"
"""The demo key's value is this and the stack's own id: unique per deployment, and no secret (with the API
key source AUTHORIZER, API Gateway ignores any key a caller sends)."""
