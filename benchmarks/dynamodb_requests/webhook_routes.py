"""The webhook routes: subscriptions, a test ping, the delivery log and a redelivery."""

from __future__ import annotations

from benchmarks.dynamodb_requests.client import BenchClient

RECEIVER = "http://localhost:9/webhooks/dumont"
"""Nothing listens there: the deliveries fail, which the routes measured here do not wait for."""


def exercise_webhooks(client: BenchClient) -> None:
    body = {"url": RECEIVER, "events": ["instance.created", "failover.triggered"]}
    webhook_id = client.measure("POST", "/api/v1/webhooks", body=body, expected_status=201).json()["data"][
        "id"
    ]
    client.measure(
        "POST",
        "/api/webhooks",
        case="seed 003, with a secret",
        body={**body, "secret": "your_webhook_secret"},
        expected_status=201,
    )
    client.measure("GET", "/api/v1/webhooks")
    client.measure("GET", "/api/webhooks")
    client.measure("GET", f"/api/v1/webhooks/{webhook_id}")
    client.measure("PATCH", f"/api/v1/webhooks/{webhook_id}", body={"events": ["*"]})
    ping = client.measure("POST", f"/api/v1/webhooks/{webhook_id}/test", expected_status=202)
    client.measure("GET", f"/api/v1/webhooks/{webhook_id}/deliveries")
    client.measure(
        "POST",
        f"/api/v1/webhooks/{webhook_id}/deliveries/{ping.json()['data']['id']}/redeliver",
        expected_status=202,
    )
    client.measure("DELETE", f"/api/v1/webhooks/{webhook_id}")
