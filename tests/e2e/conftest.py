"""One local stack for all the e2e tests, driven over HTTP as a client would."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from dumont_core.instances.machine_labels import owner_of
from dumont_core.platform.settings import DEFAULT_MACHINE_LABEL_PREFIX
from infra.topology import DOMAIN_EVENT_SOURCE_PREFIX, EVENT_BUS_NAME
from local_stack.stack import FAST_STACK, LocalStack

TERMINAL_WAIT_SECONDS = 60


# The stack lives as long as the e2e tests and no longer: its threads run our handlers in this process,
# and a scheduled sweep or an agent left running would act on the AWS that the tests after them mock.
@pytest.fixture(scope="package")
def stack() -> Iterator[LocalStack]:
    config = replace(
        FAST_STACK,
        boot_timeout_seconds=30,
        seed=1234,
        # Long enough for a test workspace, short enough to see an agent that died time out.
        agent_action_timeout_seconds=12,
        housekeeping_seconds=1,
        reconciler_seconds=1,
        interruption_confirm_seconds=2,
        # Every test's client comes from 127.0.0.1: the suite's own sign-ups and wrong passwords must not
        # lock the address out. The limit per account stays as in AWS.
        login_failures_per_address=100_000,
        registrations_per_address=100_000,
        demo_requests_per_address=100_000,
        # The suite's machines run for real minutes: no test of something else may run out of credit.
        trial_credit_usd=1_000,
    )
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="package")
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, headers={"X-API-Key": stack.api_key}, timeout=30) as client:
        yield client


def wait_for_status(
    api: httpx.Client, instance_id: str, wanted: set[str], timeout: float = TERMINAL_WAIT_SECONDS
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/api/v1/instances/{instance_id}")
        assert response.status_code == 200, response.text
        instance: dict[str, Any] = response.json()["data"]
        if instance["status"] in wanted:
            return instance
        if time.monotonic() > deadline:
            raise AssertionError(f"{instance_id} stayed {instance['status']}, never reached {wanted}")
        time.sleep(0.2)


@pytest.fixture
def create_instance(api: httpx.Client) -> Callable[..., str]:
    def create(**body: Any) -> str:
        response = api.post("/api/v1/instances", json={"gpu_type": "RTX_4090", **body})
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    return create


SNAPSHOT_WAIT_SECONDS = 60


def wait_for_snapshot(api: httpx.Client, snapshot_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + SNAPSHOT_WAIT_SECONDS
    while time.monotonic() < deadline:
        snapshot: dict[str, Any] = api.get(f"/api/v1/snapshots/{snapshot_id}").json()["data"]
        if snapshot["status"] in ("completed", "failed"):
            return snapshot
        time.sleep(0.2)
    raise AssertionError(f"snapshot {snapshot_id} never finished")


def machine_of(api: httpx.Client, instance_id: str) -> int:
    instance = api.get(f"/api/v1/instances/{instance_id}").json()["data"]
    return int(instance["provider"]["instance_id"])


def wait_for_agent(api: httpx.Client, instance_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        agents = api.get("/api/agent/instances").json()["instances"]
        if any(agent["instance_id"] == instance_id and agent["health"] == "healthy" for agent in agents):
            return
        time.sleep(0.2)
    raise AssertionError(f"the agent of {instance_id} never reported")


def machines_for(stack: LocalStack, instance_id: str) -> list[dict[str, Any]]:
    """The marketplace's machines rented for the instance, whatever their state."""
    return [
        machine
        for machine in stack.marketplace.machines()
        if (owner := owner_of(machine["label"], DEFAULT_MACHINE_LABEL_PREFIX))
        and owner.instance_id == instance_id
    ]


def eventually(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def fill_workspace(workspace: Path) -> dict[str, str]:
    """Text, binary and nested files; what each holds, by path."""
    (workspace / "src" / "pkg").mkdir(parents=True, exist_ok=True)
    (workspace / "src" / "pkg" / "train.py").write_text("import torch\n" * 500)
    (workspace / "notes.md").write_text("# experiment 7\n" + "loss went down\n" * 2000)
    (workspace / "weights.bin").write_bytes(os.urandom(5 * 1024 * 1024))
    (workspace / "empty.txt").write_bytes(b"")
    return contents(workspace)


def contents(workspace: Path) -> dict[str, str]:
    return {
        path.relative_to(workspace).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(workspace.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def running_instance(api: httpx.Client, create_instance: Callable[..., str]) -> Iterator[str]:
    instance_id = create_instance()
    assert wait_for_status(api, instance_id, {"running", "failed"})["status"] == "running"
    wait_for_agent(api, instance_id)
    yield instance_id
    wait_for_status(api, instance_id, {"running", "hibernated", "failed", "stopped", "interrupted"})
    api.delete(f"/api/v1/instances/{instance_id}")


@contextmanager
def bus_consumer(stack: LocalStack, name: str) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """A queue of the test's own receiving every domain event from the bus (the `domain-events` queue
    is the webhook fan-out's, which empties it); yields a function that reads what arrived since."""
    sqs, events = stack.aws.client("sqs"), stack.aws.client("events")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    pattern = {"source": [{"prefix": DOMAIN_EVENT_SOURCE_PREFIX}]}
    events.put_rule(Name=name, EventBusName=EVENT_BUS_NAME, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=name, EventBusName=EVENT_BUS_NAME, Targets=[{"Id": "queue", "Arn": attributes["QueueArn"]}]
    )

    def received() -> list[dict[str, Any]]:
        envelopes = []
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            envelopes.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return envelopes

    try:
        yield received
    finally:
        events.remove_targets(Rule=name, EventBusName=EVENT_BUS_NAME, Ids=["queue"])
        events.delete_rule(Name=name, EventBusName=EVENT_BUS_NAME)
        sqs.delete_queue(QueueUrl=queue_url)
