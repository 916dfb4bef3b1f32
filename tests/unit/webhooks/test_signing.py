"""What a receiver checks: seed 003's validation accepts our signature; the timestamped one covers the
time it was sent."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from dumont_core.webhooks import signing
from dumont_core.webhooks.sender import Backoff


def validate_webhook(payload: str, signature: str, secret: str) -> bool:
    # Seed 003's receiver, as written there.
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, expected)


def test_seed_003s_validation_accepts_the_signature_and_refuses_a_changed_body() -> None:
    body = '{"event":"instance.created","timestamp":"2025-12-19T02:45:30Z","data":{"ip":"79.112.1.66"}}'
    at = datetime(2025, 12, 19, 2, 45, 31, tzinfo=UTC)
    headers = signing.headers(
        "your_webhook_secret", body.encode(), event="instance.created", delivery_id="d", at=at
    )

    assert validate_webhook(body, headers["X-Dumont-Signature"], "your_webhook_secret")
    assert not validate_webhook(
        body.replace("79", "80"), headers["X-Dumont-Signature"], "your_webhook_secret"
    )
    assert headers["X-Dumont-Timestamp"] == str(int(at.timestamp()))
    stamped = f"{headers['X-Dumont-Timestamp']}.{body}"
    assert validate_webhook(stamped, headers["X-Dumont-Signature-Timestamped"], "your_webhook_secret")


def test_the_wait_doubles_from_the_base_up_to_the_cap() -> None:
    backoff = Backoff(base_seconds=30, max_seconds=3600)
    assert [backoff.after(failures) for failures in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
