"""moto as the AWS of the local stack, deployed from the same topology the CDK app deploys.

moto runs in server mode inside this process, so every boto3 client (ours, and the one moto's
Step Functions interpreter uses to invoke Lambda) reaches it over HTTP through AWS_ENDPOINT_URL,
and programs outside the process can reach it too.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config
from moto.core.responses import EmptyResult
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.stepfunctions.parser.utils import TMP_THREADS
from moto.stepfunctions.responses import StepFunctionResponse
from moto.stepfunctions.responses import get_backend as stepfunctions_backend
from werkzeug.serving import make_server

from dumont_core.platform.table import TTL_ATTRIBUTE, create_table_request
from infra.topology import (
    DEMO_USAGE_KEY_ENV,
    DEMO_USAGE_KEY_PREFIX,
    DEMO_USAGE_PLAN,
    DOMAIN_EVENT_SOURCE_PREFIX,
    DOMAIN_EVENTS_QUEUE_NAME,
    EVENT_BUS_NAME,
    FUNCTIONS,
    INSTANCE_LOG_GROUP_NAME,
    METRICS_NAMESPACE,
    SERVICE_NAME,
    STATE_MACHINES,
    USAGE_PLAN_IDS_ENV,
    USAGE_PLANS,
    WEBHOOK_DELIVERIES_QUEUE_NAME,
    render_asl,
)
from local_stack.lambda_runtime import LocalLambdaRuntime
from local_stack.moto_memory import delete_expired, keep_memory_flat
from local_stack.moto_queries import read_one_partition_per_query
from local_stack.serving import ServerThreads

logger = logging.getLogger(__name__)

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_PREFIX = "DumontCloud-"
TABLE_NAME = "DumontCloud-Table"


@dataclass(frozen=True)
class Deployment:
    api_id: str
    function_environment: dict[str, str]


class EmbeddedAws:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._port = host, port
        self._threads: ServerThreads | None = None
        self.runtime = LocalLambdaRuntime(STACK_PREFIX, REGION, ACCOUNT_ID)
        self.endpoint_url = ""

    def start(self) -> None:
        # One line per internal HTTP call drowns what matters; errors still show.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        default_user_config["lambda"] = {"use_docker": False}
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        LambdaSimpleBackend.invoke = _bound_invoke(self.runtime)  # type: ignore[method-assign]
        _make_dynamodb_requests_atomic()
        _keep_task_failure_causes()
        keep_memory_flat()
        read_one_partition_per_query()
        # moto's own threaded server, served by us so that stopping it ends its connections' threads too.
        server = make_server(
            self._host,
            self._port,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
        self._threads = ServerThreads(server, "moto")
        self._threads.start()
        host, port = server.server_address[:2]
        self.endpoint_url = f"http://{host!s}:{port}"
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                # moto's Step Functions interpreter invokes Lambda through the server on this port.
                "MOTO_PORT": str(port),
            }
        )

    def stop(self, timeout: float = 10) -> None:
        """Stop the workflows still running, then the server; wait up to `timeout` s for their threads."""
        if self._threads is None:
            return
        deadline = time.monotonic() + timeout
        # The tasks woken by stopping fail as timed out, each logged by moto with its whole state.
        moto_failures = logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component")
        moto_failures.disabled = True
        try:
            self._stop_executions()
            self._threads.stop(max(0.0, deadline - time.monotonic()))
            self._threads = None
            # moto runs each execution, and each of its waits, in threads it keeps in this list.
            for thread in list(TMP_THREADS):
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            moto_failures.disabled = False
        running = [thread.name for thread in TMP_THREADS if thread.is_alive()]
        if running:
            logger.warning("Step Functions threads still running after %s s: %s", timeout, running)

    def _stop_executions(self) -> None:
        """A workflow left running would go on calling our handlers and AWS after the stack is gone."""
        sfn = self.client("stepfunctions")
        for machine in sfn.list_state_machines()["stateMachines"]:
            listed = sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")
            for execution in listed["executions"]:
                sfn.stop_execution(executionArn=execution["executionArn"], cause="the local stack stopped")
        _wake_stopped_tasks()

    def delete_expired_items(self, now: float | None = None) -> int:
        """Delete the table's items whose TTL has passed, as DynamoDB does and moto never does; how many."""
        table = dynamodb_backends[ACCOUNT_ID][REGION].get_table(TABLE_NAME)
        return delete_expired(table, TTL_ATTRIBUTE, time.time() if now is None else now, _dynamodb_lock)

    def client(self, service: str) -> Any:
        make_client: Any = boto3.client  # any service by name; typed clients come from the stubs
        return make_client(service, endpoint_url=self.endpoint_url, region_name=REGION)

    def deploy(self, extra_environment: dict[str, str], webhook_max_receives: int) -> Deployment:
        """Create what the CDK stack creates, and set the functions' environment. The deliveries queue
        allows `webhook_max_receives`, made from the local retry settings as CDK's from AWS's."""
        self.client("dynamodb").create_table(**create_table_request(TABLE_NAME))
        self._deploy_events()
        deliveries_url, _ = self._queue_with_dead_letters(WEBHOOK_DELIVERIES_QUEUE_NAME, webhook_max_receives)
        role_arn = self._lambda_role()
        functions = self._deploy_functions(role_arn)
        state_machine_arns = self._deploy_state_machines(role_arn, functions)
        api_id, usage_plan_ids = self._deploy_api()
        environment = {
            "TABLE_NAME": TABLE_NAME,
            "EVENT_BUS_NAME": EVENT_BUS_NAME,
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_TRACE_DISABLED": "true",
            **{spec.arn_env_var: state_machine_arns[spec.name] for spec in STATE_MACHINES},
            "JWT_SECRET_ARN": self._token_secret(),
            "SNAPSHOT_BUCKET": self._snapshot_bucket(),
            "INSTANCE_LOG_GROUP": self._instance_log_group(),
            **self._cpu_standby_network(),
            USAGE_PLAN_IDS_ENV: json.dumps(usage_plan_ids),
            DEMO_USAGE_KEY_ENV: self._demo_usage_key(),
            "WEBHOOK_DELIVERY_QUEUE_URL": deliveries_url,
            "WEBHOOK_DEAD_LETTER_QUEUE_URL": self.queue(f"{WEBHOOK_DELIVERIES_QUEUE_NAME}-dlq")[0],
            **extra_environment,
        }
        # Every handler runs in this process, so they share one environment, as each would in AWS.
        os.environ.update(environment)
        return Deployment(api_id=api_id, function_environment=environment)

    def queue(self, name: str) -> tuple[str, str]:
        """The URL and the ARN of the queue named `name`."""
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def _queue_with_dead_letters(self, name: str, max_receives: int) -> tuple[str, str]:
        sqs = self.client("sqs")
        sqs.create_queue(QueueName=f"{name}-dlq")
        _, dlq_arn = self.queue(f"{name}-dlq")
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}
        sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": json.dumps(redrive)})
        return self.queue(name)

    def _deploy_events(self) -> None:
        events = self.client("events")
        events.create_event_bus(Name=EVENT_BUS_NAME)
        _, queue_arn = self._queue_with_dead_letters(DOMAIN_EVENTS_QUEUE_NAME, 5)
        events.put_rule(
            Name="domain-events-to-queue",
            EventBusName=EVENT_BUS_NAME,
            EventPattern=json.dumps({"source": [{"prefix": DOMAIN_EVENT_SOURCE_PREFIX}]}),
        )
        events.put_targets(
            Rule="domain-events-to-queue",
            EventBusName=EVENT_BUS_NAME,
            Targets=[{"Id": DOMAIN_EVENTS_QUEUE_NAME, "Arn": queue_arn}],
        )

    def _lambda_role(self) -> str:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = self.client("iam").create_role(
            RoleName="dumont-local", AssumeRolePolicyDocument=json.dumps(trust)
        )
        return str(role["Role"]["Arn"])

    def _deploy_functions(self, role_arn: str) -> dict[str, str]:
        # moto keeps the code but never runs it; the dispatcher runs the handler from this tree.
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("README.txt", "Handlers run from the source tree on the local stack.")
        lambda_client = self.client("lambda")
        arns = {}
        for spec in FUNCTIONS:
            created = lambda_client.create_function(
                FunctionName=self.runtime.deployed_name(spec.name),
                Runtime="python3.12",
                Architectures=["arm64"],
                Role=role_arn,
                Handler=spec.handler,
                Code={"ZipFile": archive.getvalue()},
                Timeout=spec.timeout_seconds,
                MemorySize=spec.memory_mb,
                Description=spec.description,
            )
            arns[spec.name] = created["FunctionArn"]
        return arns

    def _deploy_state_machines(self, role_arn: str, functions: dict[str, str]) -> dict[str, str]:
        sfn = self.client("stepfunctions")
        tasks_arn = functions["InstanceTasks"]
        return {
            spec.name: sfn.create_state_machine(
                name=f"{STACK_PREFIX}{spec.name}", definition=render_asl(spec, tasks_arn), roleArn=role_arn
            )["stateMachineArn"]
            for spec in STATE_MACHINES
        }

    def _cpu_standby_network(self) -> dict[str, str]:
        """What the CPU standbys launch into, as an operator gives it in AWS (`-c cpuStandbyAmiId=…`): an
        image, a subnet and a security group of moto's EC2."""
        ec2 = self.client("ec2")
        vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.0.0/24")["Subnet"]["SubnetId"]
        group_id = ec2.create_security_group(
            GroupName="dumont-cpu-standby", Description="SSH to the CPU standbys", VpcId=vpc_id
        )["GroupId"]
        image_id = ec2.register_image(
            Name="dumont-cpu-standby", RootDeviceName="/dev/sda1", Architecture="x86_64"
        )["ImageId"]
        return {
            "CPU_STANDBY_AMI_ID": image_id,
            "CPU_STANDBY_SUBNET_ID": subnet_id,
            "CPU_STANDBY_SECURITY_GROUP_ID": group_id,
        }

    def _instance_log_group(self) -> str:
        self.client("logs").create_log_group(logGroupName=INSTANCE_LOG_GROUP_NAME)
        return INSTANCE_LOG_GROUP_NAME

    def _snapshot_bucket(self) -> str:
        self.client("s3").create_bucket(Bucket=SNAPSHOT_BUCKET)
        return SNAPSHOT_BUCKET

    def _token_secret(self) -> str:
        secret = self.client("secretsmanager").create_secret(
            Name="DumontCloud-TokenSigningSecret", SecretString=secrets.token_urlsafe(48)
        )
        return str(secret["ARN"])

    def _deploy_api(self) -> tuple[str, dict[str, str]]:
        """The REST API's id, and the id of each plan's usage plan by plan name (USAGE_PLAN_IDS)."""
        apigateway = self.client("apigateway")
        api_id = str(apigateway.create_rest_api(name="DumontCloudApi", apiKeySource="AUTHORIZER")["id"])
        usage_plan_ids = {}
        for plan in USAGE_PLANS:
            usage_plan = apigateway.create_usage_plan(
                name=plan.name,
                throttle={"rateLimit": plan.requests_per_minute / 60, "burstLimit": plan.requests_per_minute},
                **(
                    {"quota": {"limit": plan.requests_per_day, "period": "DAY"}}
                    if plan.requests_per_day
                    else {}
                ),
            )
            usage_plan_ids[plan.plan] = str(usage_plan["id"])
        return api_id, usage_plan_ids

    def _demo_usage_key(self) -> str:
        """The demo usage plan and its one key, as the CDK stack makes them; the key's value."""
        apigateway = self.client("apigateway")
        plan = DEMO_USAGE_PLAN
        usage_plan = apigateway.create_usage_plan(
            name=plan.name,
            throttle={"rateLimit": plan.requests_per_minute / 60, "burstLimit": plan.requests_per_minute},
            quota={"limit": plan.requests_per_day, "period": "DAY"},
        )
        value = f"{DEMO_USAGE_KEY_PREFIX}{uuid.uuid4()}"
        key = apigateway.create_api_key(name="demo", enabled=True, value=value)
        apigateway.create_usage_plan_key(usagePlanId=usage_plan["id"], keyId=key["id"], keyType="API_KEY")
        return value


SNAPSHOT_BUCKET = "dumont-snapshots"


def _wake_stopped_tasks() -> None:
    """A stopped execution's task that waits for its token (an agent's action) goes on waiting until
    its timeout: moto's StopExecution does not wake it. Its wait is ended here, so its threads end."""
    backend = stepfunctions_backend(ACCOUNT_ID, REGION)
    for machine in backend.state_machines:
        for execution in machine.executions:
            worker = getattr(execution, "exec_worker", None)
            if worker is not None:
                for endpoint in list(worker.env.callback_pool_manager._pool.values()):
                    endpoint.interrupt_all()


_dynamodb_lock = threading.Lock()


def _keep_task_failure_causes() -> None:
    """Step Functions hands a task failed with SendTaskFailure on with its `cause`, which is where our
    agents put their reason; moto's handler reads only the error name, so it is taught the cause too."""
    if getattr(StepFunctionResponse.send_task_failure, "_keeps_cause", False):
        return

    def send_task_failure(handler: StepFunctionResponse) -> EmptyResult:
        handler.stepfunction_backend.send_task_failure(  # type: ignore[call-arg]
            handler._get_param("taskToken"),
            error=handler._get_param("error"),
            cause=handler._get_param("cause"),
        )
        return EmptyResult()

    send_task_failure._keeps_cause = True  # type: ignore[attr-defined]
    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign,assignment]


def _make_dynamodb_requests_atomic() -> None:
    """DynamoDB applies each request atomically; moto's backend does not (a read served while an
    update is half applied sees some of its changes). Handlers run concurrently here, so moto's
    DynamoDB requests are served one at a time, as the real service appears to serve them."""
    if getattr(DynamoHandler.call_action, "_serialised", False):
        return
    unserialised = DynamoHandler.call_action

    def call_action(handler: DynamoHandler) -> Any:
        with _dynamodb_lock:
            return unserialised(handler)

    call_action._serialised = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def _bound_invoke(runtime: LocalLambdaRuntime) -> Any:
    def invoke(
        backend: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        return runtime.moto_invoke(function_name, qualifier, body, headers, response_headers)

    return invoke
