"""Provisioning when the provider misbehaves: nothing is ever left rented behind our back."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.conftest import eventually, machines_for, wait_for_status

pytestmark = pytest.mark.e2e


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
    seen = stack.marketplace.requests_seen()
    seen_before = seen[-1]["seq"] if seen else 0
    stack.marketplace.fail_next_creates(2, 429, {"detail": "API requests too frequent"}, retry_after=0.1)
    instance_id = create_instance()
    running = wait_for_status(api, instance_id, {"running", "failed"})
    assert running["status"] == "running", running["status_reason"]
    creates = [
        request["status"]
        for request in stack.marketplace.requests_seen()
        if request["seq"] > seen_before and request["operation"] == "create"
    ]
    assert creates[:2] == [429, 429], "the two injected 429s were served"
    assert 200 in creates[2:], "and a rent after them succeeded"
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


def test_a_machine_rented_after_its_instance_was_deleted_is_destroyed_by_the_reconciler(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    # The rent is throttled for a while; the delete completes meanwhile, finding no machine yet;
    # the rent then succeeds, and the provider refuses to destroy the machine nobody wants (and only
    # that one: other tests' machines may be given back meanwhile).
    stack.marketplace.fail_next_creates(1, 429, {"detail": "API requests too frequent"}, retry_after=3)
    try:
        instance_id = create_instance()
        stack.marketplace.fail_next_calls(
            "destroy", 4, 500, {"success": False, "error": "server_error"}, label_ending=f":{instance_id}"
        )
        assert eventually(lambda: rent_answered(stack, instance_id, 429)), "the rent was never throttled"
        assert api.delete(f"/api/v1/instances/{instance_id}").status_code == 202
        assert wait_for_status(api, instance_id, {"deleted", "failed"})["status"] == "deleted"
        assert eventually(lambda: rent_answered(stack, instance_id, 200)), (
            "the throttled rent never succeeded"
        )
        # The provisioning workflow gives the machine up to the reconciler and says so on the instance,
        # unless the reconciler, running meanwhile, already took the provider's refusals.
        assert eventually(
            lambda: (
                not machines_for(stack, instance_id)
                or "destroyed automatically" in (status_reason(api, instance_id) or "")
            )
        )
    finally:
        stack.marketplace.clear_injected_failures()
    assert stack.reconciler is not None
    for _ in range(2):
        assert stack.reconciler.wait_for_next_run(30), "the reconciler stopped running"
    assert machines_for(stack, instance_id) == [], "no machine is left rented within two reconciler passes"
    events = api.get(f"/api/v1/instances/{instance_id}/events").json()["data"]["events"]
    (orphan,) = [event for event in events if event["type"] == "instance.orphan_destroyed"]
    assert orphan["details"]["reason"] == "its instance is deleted"
    assert orphan["details"]["lived_seconds"] >= 0 and orphan["details"]["cost"] >= 0


def rent_answered(stack: LocalStack, instance_id: str, status: int) -> bool:
    """Whether the marketplace answered `status` to renting a machine for the instance."""
    return any(
        request["operation"] == "create"
        and request["status"] == status
        and str(request["body"].get("label", "")).endswith(f":{instance_id}")
        for request in stack.marketplace.requests_seen()
    )


def status_reason(api: httpx.Client, instance_id: str) -> str | None:
    reason: str | None = api.get(f"/api/v1/instances/{instance_id}").json()["data"]["status_reason"]
    return reason
