"""What the failover tests on the local stack share: where failover stands, the instance's events, and
losing a machine the ways the marketplace loses one."""

from __future__ import annotations

from typing import Any

import httpx

from local_stack.stack import LocalStack


def failover_status(api: httpx.Client, instance_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/failover/status/{instance_id}")
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()["data"]
    return status


def events_of(api: httpx.Client, instance_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = api.get(f"/api/v1/instances/{instance_id}/events").json()["data"]["events"]
    return events


def event_types(api: httpx.Client, instance_id: str) -> list[str]:
    return [str(event["type"]) for event in events_of(api, instance_id)]


def lose(stack: LocalStack, machine_id: int, kind: str) -> None:
    """Lose the machine the way `kind` says, as the marketplace would: an interruptible machine is
    outbid by a higher bid on its offer; any other is stopped by its host (an on-demand one cannot be
    outbid)."""
    (machine,) = [machine for machine in stack.marketplace.machines() if machine["id"] == machine_id]
    if kind == "outbid" and machine["is_bid"]:
        (offer_id,) = [
            offer["id"]
            for offer in stack.marketplace.offers()
            if offer["machine_id"] == machine["machine_id"] and offer["rented"]
        ]
        assert stack.marketplace.bid(offer_id, machine["dph_total"] + 1) == machine_id
    else:
        stack.marketplace.interrupt(machine_id, "host_offline" if kind == "outbid" else kind)
