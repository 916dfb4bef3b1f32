"""What a receiver checks: seed 003's validation accepts our signature; the timestamped one covers the
time it was sent. How long a failing delivery waits, and how many receives its queue allows it."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from dumont_core.webhooks import signing
from dumont_core.webhooks.retries import SQS_MAX_RECEIVE_COUNT, Backoff, receive_limit


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


def test_the_queue_allows_twice_a_days_retries_or_as_many_receives_as_sqs_does() -> None:
    day = timedelta(hours=24)
    aws = Backoff(base_seconds=30, max_seconds=3600)
    # 30 s doubling to an hour: 8 attempts in the first 64 minutes, then one an hour.
    assert aws.attempts_within(day, at_most=SQS_MAX_RECEIVE_COUNT) == 31
    assert receive_limit(aws, day) == 72

    local = Backoff(base_seconds=1, max_seconds=8)
    assert local.attempts_within(day, at_most=SQS_MAX_RECEIVE_COUNT) == SQS_MAX_RECEIVE_COUNT
    assert receive_limit(local, day) == SQS_MAX_RECEIVE_COUNT
