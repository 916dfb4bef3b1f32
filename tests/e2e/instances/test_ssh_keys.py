"""SSH keys per instance (seed 004): added, listed and removed over HTTP, installed in the machine's
authorized_keys by its agent within a heartbeat, and present on every machine the instance moves to."""

from __future__ import annotations

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.access.conftest import login, register
from tests.e2e.conftest import eventually, machine_of, wait_for_agent, wait_for_status

pytestmark = pytest.mark.e2e

ALICE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"
BOB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWNXuP6uPYQadPK5qqvzn5+3LzQRqpDMwyPnua0R2Tn bob@box"
BOB_FINGERPRINT = "256 SHA256:QM7lTf25psOVJ4QsAYFYAEPEa4c4W6BPZmMzpHYHSOM bob@box (ED25519)"


def authorized(stack: LocalStack, api: httpx.Client, instance_id: str) -> list[str]:
    path = stack.machine_agents.authorized_keys(machine_of(api, instance_id))
    return path.read_text().splitlines() if path.exists() else []


def test_keys_are_added_installed_removed_and_follow_the_instance_to_its_next_machine(
    api: httpx.Client, stack: LocalStack
) -> None:
    created = api.post("/api/v1/instances", json={"gpu_type": "RTX_4090", "ssh_key": ALICE})
    assert created.status_code == 201, created.text
    instance_id = created.json()["data"]["id"]
    try:
        assert wait_for_status(api, instance_id, {"running", "failed"})["status"] == "running"
        wait_for_agent(api, instance_id)
        assert eventually(lambda: ALICE in authorized(stack, api, instance_id)), "the key given at creation"

        added = api.post(f"/api/v1/instances/{instance_id}/ssh-keys", json={"public_key": BOB, "name": "bob"})
        assert added.status_code == 201, added.text
        key = added.json()["data"]
        assert (key["name"], key["fingerprint"]) == ("bob", BOB_FINGERPRINT)
        assert eventually(lambda: BOB in authorized(stack, api, instance_id)), "installed within a heartbeat"
        listed = api.get(f"/api/v1/instances/{instance_id}/ssh-keys").json()["data"]
        assert [each["name"] for each in listed] == ["added at creation", "bob"]

        again = api.post(f"/api/v1/instances/{instance_id}/ssh-keys", json={"public_key": BOB})
        assert again.status_code == 409 and key["id"] in again.json()["error"]["message"]
        broken = api.post(
            f"/api/v1/instances/{instance_id}/ssh-keys", json={"public_key": "ssh-ed25519 AAAA"}
        )
        assert broken.status_code == 400
        assert broken.json()["error"]["details"]["fields"][0]["field"] == "public_key"

        alice_id = listed[0]["id"]
        removed = api.delete(f"/api/v1/instances/{instance_id}/ssh-keys/{alice_id}")
        assert removed.status_code == 200, removed.text
        assert eventually(lambda: ALICE not in authorized(stack, api, instance_id)), "taken out at once"
        assert api.delete(f"/api/v1/instances/{instance_id}/ssh-keys/{alice_id}").status_code == 404

        first_machine = machine_of(api, instance_id)
        assert api.post(f"/api/instances/{instance_id}/hibernate").status_code == 200
        assert (
            wait_for_status(api, instance_id, {"hibernated", "failed"}, timeout=60)["status"] == "hibernated"
        )
        assert api.post(f"/api/instances/{instance_id}/wake").status_code == 200
        assert wait_for_status(api, instance_id, {"running", "hibernated", "failed"}, timeout=60)[
            "status"
        ] == ("running")
        assert machine_of(api, instance_id) != first_machine
        assert eventually(lambda: BOB in authorized(stack, api, instance_id)), "on the new machine too"
        assert ALICE not in authorized(stack, api, instance_id)
    finally:
        wait_for_status(api, instance_id, {"running", "hibernated", "failed"})
        api.delete(f"/api/v1/instances/{instance_id}")


def test_another_team_cannot_see_or_change_the_keys(api: httpx.Client, stack: LocalStack) -> None:
    created = api.post("/api/v1/instances", json={"gpu_type": "RTX_4090"})
    assert created.status_code == 201, created.text
    instance_id = created.json()["data"]["id"]
    try:
        with login(stack, register(stack)) as outsider:
            listed = outsider.get(f"/api/v1/instances/{instance_id}/ssh-keys")
            assert listed.status_code == 404, listed.text
            posted = outsider.post(f"/api/v1/instances/{instance_id}/ssh-keys", json={"public_key": BOB})
            assert posted.status_code == 404, posted.text
    finally:
        wait_for_status(api, instance_id, {"running", "failed"})
        api.delete(f"/api/v1/instances/{instance_id}")


CAROL = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINJWEdKA9HfgJMCyWR4z3jflKb0U6doDtA7jiZWhhnZe carol@desk"
CAROL_FINGERPRINT = "256 SHA256:WzRAEzisIp0i7joaRxPwm+ngiSDb5W+ArqtJoRJF/mU carol@desk (ED25519)"


def test_an_account_key_is_installed_on_every_instance_created_after_it(
    api: httpx.Client, stack: LocalStack
) -> None:
    added = api.post("/api/v1/ssh-keys", json={"public_key": CAROL, "name": "desk"})
    assert added.status_code == 201, added.text
    key = added.json()["data"]
    assert (key["name"], key["fingerprint"]) == ("desk", CAROL_FINGERPRINT)
    instance_id = ""
    try:
        assert [each["id"] for each in api.get("/api/v1/ssh-keys").json()["data"]] == [key["id"]]
        assert api.post("/api/v1/ssh-keys", json={"public_key": CAROL}).status_code == 409
        created = api.post("/api/v1/instances", json={"gpu_type": "RTX_4090", "ssh_key": ALICE})
        assert created.status_code == 201, created.text
        instance_id = created.json()["data"]["id"]
        assert wait_for_status(api, instance_id, {"running", "failed"})["status"] == "running"
        wait_for_agent(api, instance_id)
        assert eventually(lambda: {ALICE, CAROL} <= set(authorized(stack, api, instance_id)))
        listed = api.get(f"/api/v1/instances/{instance_id}/ssh-keys").json()["data"]
        assert [each["name"] for each in listed] == ["added at creation", "desk"]
    finally:
        assert api.delete(f"/api/v1/ssh-keys/{key['id']}").status_code == 200
        if instance_id:
            wait_for_status(api, instance_id, {"running", "failed"})
            api.delete(f"/api/v1/instances/{instance_id}")
    assert api.get("/api/v1/ssh-keys").json()["data"] == []
    assert api.delete(f"/api/v1/ssh-keys/{key['id']}").status_code == 404
