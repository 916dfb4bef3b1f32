"""Provisioning when the provider misbehaves: nothing is ever left rented behind our back."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.conftest import wait_for_status

pytestmark = pytest.mark.e2e


def machines_for(stack: LocalStack, instance_id: str) -> list[dict]:
    return [machine for machine in stack.marketplace.machines() if machine["label"] == instance_id]


def test_machine_failing_to_boot_is_destroyed_and_instance_failed(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    stack.marketplace.fail_next_boots(1, "Error response from daemon: image not found")
    instance_id = create_instance()
    failed = wait_for_status(api, instance_id, {"failed", "running"})
    assert failed["status"] == "failed"
    assert "image not found" in failed["status_reason"]
    assert machines_for(stack, instance_id) == [], "the broken machine was destroyed"
    events = api.get(f"/api/v1/instances/{instance_id}/events").json()["data"]["events"]
    assert [event["type"] for event in events] == ["instance.created", "instance.failed"]
    assert "image not found" in events[-1]["details"]["reason"]


def test_provider_errors_on_every_rent_attempt_fail_cleanly(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    stack.marketplace.fail_next_creates(1000, 500, {"success": False, "error": "server_error", "msg": "boom"})
    try:
        instance_id = create_instance()
        failed = wait_for_status(api, instance_id, {"failed", "running"}, timeout=90)
    finally:
        stack.marketplace.clear_injected_failures()
    assert failed["status"] == "failed"
    assert "ProviderUnavailable" in failed["status_reason"]
    assert machines_for(stack, instance_id) == []


def test_a_gone_offer_moves_on_to_the_next(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    stack.marketplace.fail_next_creates(1, 410, {"success": False, "error": "gone", "msg": "Offer is gone"})
    instance_id = create_instance()
    running = wait_for_status(api, instance_id, {"running", "failed"})
    assert running["status"] == "running", running["status_reason"]
    assert len(machines_for(stack, instance_id)) == 1
    api.delete(f"/api/v1/instances/{instance_id}")


def test_throttling_is_retried(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    stack.marketplace.fail_next_creates(2, 429, {"detail": "API requests too frequent"}, retry_after=0.1)
    instance_id = create_instance()
    running = wait_for_status(api, instance_id, {"running", "failed"})
    assert running["status"] == "running", running["status_reason"]
    api.delete(f"/api/v1/instances/{instance_id}")


def test_deleting_while_provisioning_leaves_no_machine(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    instance_id = create_instance()
    assert api.delete(f"/api/v1/instances/{instance_id}").status_code == 202
    deleted = wait_for_status(api, instance_id, {"deleted", "failed"})
    assert deleted["status"] == "deleted"
    # Provisioning notices on its next step and gives its machine back.
    wait_until_no_machine(stack, instance_id)


def wait_until_no_machine(stack: LocalStack, instance_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while machines_for(stack, instance_id):
        assert time.monotonic() < deadline, f"machine of {instance_id} was left rented"
        time.sleep(0.2)
