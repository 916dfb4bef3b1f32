"""One run of the bench: the local stack with the recorder in place, every route in turn, the failures
the exercised flows cause on purpose kept quiet."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from benchmarks.dynamodb_requests.access_routes import exercise_accounts
from benchmarks.dynamodb_requests.billing_routes import (
    exercise_billing,
    exercise_billing_with_history,
    exercise_savings,
)
from benchmarks.dynamodb_requests.client import BenchClient
from benchmarks.dynamodb_requests.counting import ApiInvocationRecorder, counting_aws_calls
from benchmarks.dynamodb_requests.instance_routes import (
    exercise_creating_and_reading,
    exercise_power_and_deleting,
)
from benchmarks.dynamodb_requests.machines import STACK_CONFIG
from benchmarks.dynamodb_requests.market_routes import collector_cost, exercise_market
from benchmarks.dynamodb_requests.serverless_routes import (
    exercise_failover,
    exercise_serverless_and_hibernation,
)
from benchmarks.dynamodb_requests.snapshot_and_agent_routes import (
    exercise_agent_routes,
    exercise_agent_routes_mid_snapshot,
    exercise_snapshots,
)
from benchmarks.dynamodb_requests.ssh_key_routes import exercise_ssh_keys
from benchmarks.dynamodb_requests.verdicts import Measurement
from benchmarks.dynamodb_requests.webhook_routes import exercise_webhooks
from local_stack.embedded_aws import STACK_PREFIX
from local_stack.front import api_function_name, authorizer_function_name
from local_stack.stack import LocalStack

EXPECTED_FAILURE_LOGGERS = {
    # The agent of a machine released by a hibernation has its last heartbeats refused.
    "dumont_agent": logging.CRITICAL,
    # The authorizer refusing those heartbeats, logged as a function error.
    "local-lambda": logging.WARNING,
    # The workflow of the snapshot the bench's stand-in agent reports failed.
    "moto.stepfunctions.parser": logging.CRITICAL,
}


@contextmanager
def quiet_expected_failures() -> Iterator[None]:
    """Keep failures the exercised flows cause on purpose out of the report; unexpected ones still stop
    the bench, through the answers it checks."""
    loggers = {logging.getLogger(name): level for name, level in EXPECTED_FAILURE_LOGGERS.items()}
    previous = {logger: logger.level for logger in loggers}
    for logger, level in loggers.items():
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, level in previous.items():
            logger.setLevel(level)


def exercise(client: BenchClient, stack: LocalStack) -> None:
    """Every route of the API, with the filters and outcomes that take different paths to the data.

    One pair of instances lives through all of it, so the order matters: snapshots need a running
    instance with its agent, hibernation a machine to release, deletion comes last.
    """
    client.measure("GET", "/health")
    client.measure("GET", "/docs")
    client.measure("GET", "/openapi.json")
    client.measure("GET", "/demo-app")

    first, second = exercise_creating_and_reading(client)
    exercise_ssh_keys(client, first)
    kept_snapshot, restore_action = exercise_snapshots(client, stack, first)
    exercise_agent_routes(client, stack, first, kept_snapshot, restore_action)
    exercise_agent_routes_mid_snapshot(client, stack, second)
    exercise_serverless_and_hibernation(client, first)
    exercise_failover(client, first)
    exercise_billing(client, first)
    exercise_savings(client)
    exercise_power_and_deleting(client, first, second)
    exercise_billing_with_history(client)

    exercise_webhooks(client)
    exercise_accounts(client)
    exercise_market(client, stack)
    collector_cost()


def measure() -> list[Measurement]:
    stack = LocalStack(STACK_CONFIG)
    recorder = ApiInvocationRecorder(
        stack.aws.runtime.invoke, api_function_name(STACK_PREFIX), authorizer_function_name(STACK_PREFIX)
    )
    # The API front takes the runtime's `invoke` when the stack starts, so the recorder goes in first.
    with (
        quiet_expected_failures(),
        counting_aws_calls(),
        mock.patch.object(stack.aws.runtime, "invoke", recorder),
    ):
        stack.start()
        client = BenchClient(stack, recorder)
        try:
            exercise(client, stack)
        finally:
            client.close()
            stack.stop()
    return client.measurements
