"""What proves a delivery came from us.

- `X-Dumont-Signature`: the hex HMAC-SHA256 of the exact body bytes, keyed with the subscription's
  secret: what seed 003's receiver checks.
- `X-Dumont-Timestamp` and `X-Dumont-Signature-Timestamped`: the send time (Unix seconds) and the hex
  HMAC-SHA256 of `{timestamp}.{body}`. A receiver that checks this one and refuses timestamps more than
  five minutes old cannot be fooled by a delivery replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

SIGNATURE_HEADER = "X-Dumont-Signature"
TIMESTAMP_HEADER = "X-Dumont-Timestamp"
TIMESTAMPED_SIGNATURE_HEADER = "X-Dumont-Signature-Timestamped"
EVENT_HEADER = "X-Dumont-Event"
DELIVERY_HEADER = "X-Dumont-Delivery"


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def timestamped_signature(secret: str, timestamp: int, body: bytes) -> str:
    return signature(secret, f"{timestamp}.".encode() + body)


def headers(secret: str, body: bytes, *, event: str, delivery_id: str, at: datetime) -> dict[str, str]:
    timestamp = int(at.timestamp())
    return {
        "Content-Type": "application/json",
        "User-Agent": "Dumont-Webhooks/1",
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
        SIGNATURE_HEADER: signature(secret, body),
        TIMESTAMP_HEADER: str(timestamp),
        TIMESTAMPED_SIGNATURE_HEADER: timestamped_signature(secret, timestamp, body),
    }
