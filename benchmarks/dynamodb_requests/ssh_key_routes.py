"""The SSH key routes: an instance's keys and the account's keys, each added, listed and removed."""

from __future__ import annotations

from benchmarks.dynamodb_requests.client import BenchClient

ACCOUNT_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINJWEdKA9HfgJMCyWR4z3jflKb0U6doDtA7jiZWhhnZe my-laptop"
INSTANCE_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWNXuP6uPYQadPK5qqvzn5+3LzQRqpDMwyPnua0R2Tn bob@box"


def exercise_ssh_keys(client: BenchClient, instance_id: str) -> None:
    keys = f"/api/v1/instances/{instance_id}/ssh-keys"
    added = client.measure("POST", keys, body={"public_key": INSTANCE_KEY}, expected_status=201)
    client.measure("GET", keys)
    client.measure("DELETE", f"{keys}/{added.json()['data']['id']}")

    mine = client.measure("POST", "/api/v1/ssh-keys", body={"public_key": ACCOUNT_KEY}, expected_status=201)
    client.measure("GET", "/api/v1/ssh-keys")
    client.measure("DELETE", f"/api/v1/ssh-keys/{mine.json()['data']['id']}")
