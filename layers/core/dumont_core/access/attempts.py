"""Limits on guessing: failed logins per account and per source address, registrations per source
address, counted in the table so that every function and container shares them.

Each limit counts in fixed windows (`window_seconds` long, starting at multiples of it), one item per
subject and window, removed by TTL once the window is past. An attempt takes its place in every counter
it is subject to in one transaction, on condition that each is under its limit, so concurrent attempts
never get past a limit; a refused attempt counts nowhere. A login that turns out right gives its places
back (`release`), so only failures stay counted: a login makes one transaction before checking the
password, and a successful one another after.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from dumont_core.access.rates import RateWindow
from dumont_core.access.repository import seat_key
from dumont_core.platform import table
from dumont_core.platform.aws import aws_client
from dumont_core.platform.dynamodb import bound_table
from dumont_core.platform.settings import GuessingSettings

CHECK_FAILED = "ConditionalCheckFailed"
_CONFLICT_RETRIES = 3
"""Concurrent transactions on one counter refuse each other (TransactionConflict); each is tried again
this many times, after a short random pause, before the attempt is refused as one too many."""


@dataclass(frozen=True)
class AttemptLimit:
    attempts: int
    window_seconds: int


@dataclass(frozen=True)
class GuessingLimits:
    """The limits of `platform.settings.GuessingSettings`, as the access service applies them."""

    failed_logins_per_account: AttemptLimit
    failed_logins_per_address: AttemptLimit
    registrations_per_address: AttemptLimit
    demo_requests_per_address: AttemptLimit = AttemptLimit(30, 60)

    @classmethod
    def of(cls, settings: GuessingSettings) -> GuessingLimits:
        logins = settings.login_failure_window_seconds
        return cls(
            failed_logins_per_account=AttemptLimit(settings.login_failures_per_account, logins),
            failed_logins_per_address=AttemptLimit(settings.login_failures_per_address, logins),
            registrations_per_address=AttemptLimit(
                settings.registrations_per_address, settings.registration_window_seconds
            ),
            demo_requests_per_address=AttemptLimit(
                settings.demo_requests_per_address, settings.demo_window_seconds
            ),
        )


@dataclass(frozen=True)
class Counter:
    """One subject's count under one limit: `kind` names the limit, `subject` whom it counts."""

    kind: str
    subject: str
    limit: AttemptLimit


@dataclass(frozen=True)
class Reservation:
    """The places an attempt took, to give back if it succeeds."""

    keys: tuple[dict[str, Any], ...]


class AttemptsRefused(Exception):
    """A counter is at its limit (or too contended to tell); nothing was counted."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry in {retry_after} s")
        self.retry_after = retry_after


def address_subject(source_ip: str | None) -> str:
    """Whom a source address stands for: an IPv4 address, or an IPv6 address's /64, which one subscriber
    is commonly given whole."""
    if not source_ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return source_ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _window_start(counter: Counter, now: datetime) -> int:
    epoch = int(now.timestamp())
    return epoch - epoch % counter.limit.window_seconds


def _counter_key(counter: Counter, window: int) -> dict[str, Any]:
    return {
        table.PARTITION_KEY: {"S": table.attempts_key(counter.kind, counter.subject)},
        table.SORT_KEY: {"S": table.attempts_window_key(window)},
    }


class AttemptRepository:
    def reserve(self, counters: Sequence[Counter], now: datetime) -> Reservation:
        """Count one attempt against every counter, or against none (AttemptsRefused) when one is at its
        limit: it then says when that counter's window ends."""
        windows = [_window_start(counter, now) for counter in counters]
        keys = tuple(_counter_key(counter, window) for counter, window in zip(counters, windows, strict=True))
        updates = [
            {
                "Update": {
                    "TableName": bound_table(),
                    "Key": key,
                    "UpdateExpression": "ADD attempts :one SET #expires = :expires",
                    "ConditionExpression": "attribute_not_exists(attempts) OR attempts < :limit",
                    "ExpressionAttributeNames": {"#expires": table.TTL_ATTRIBUTE},
                    "ExpressionAttributeValues": {
                        ":one": {"N": "1"},
                        ":limit": {"N": str(counter.limit.attempts)},
                        ":expires": {"N": str(window + 2 * counter.limit.window_seconds)},
                    },
                }
            }
            for counter, window, key in zip(counters, windows, keys, strict=True)
        ]
        reasons = _transact(updates)
        if reasons is None:
            return Reservation(keys=keys)
        refused = [
            window + counter.limit.window_seconds
            for counter, window, reason in zip(counters, windows, reasons, strict=False)
            if reason.get("Code") == CHECK_FAILED
        ]
        ends = max(refused) if refused else int(now.timestamp()) + 1
        raise AttemptsRefused(max(1, ends - int(now.timestamp())))

    def count(self, counter: Counter, now: datetime) -> RateWindow:
        """Count one request against `counter` alone, unless it is at its limit: the window as the
        `X-RateLimit-*` headers report it, `limited` when the request was not counted."""
        window = _window_start(counter, now)
        ends = window + counter.limit.window_seconds
        try:
            answer = aws_client("dynamodb").update_item(
                TableName=bound_table(),
                Key=_counter_key(counter, window),
                UpdateExpression="ADD attempts :one SET #expires = :expires",
                ConditionExpression="attribute_not_exists(attempts) OR attempts < :limit",
                ExpressionAttributeNames={"#expires": table.TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(counter.limit.attempts)},
                    ":expires": {"N": str(ends + counter.limit.window_seconds)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return RateWindow(limit=counter.limit.attempts, remaining=0, reset_at=ends, limited=True)
        counted = int(answer["Attributes"]["attempts"]["N"])
        remaining = max(counter.limit.attempts - counted, 0)
        return RateWindow(limit=counter.limit.attempts, remaining=remaining, reset_at=ends, limited=False)

    def release(self, reservation: Reservation, member_of: tuple[str, str] | None = None) -> bool:
        """Give back the places an attempt took. With `member_of` (team, account), only if that member's
        seat exists; False when it does not, and the places stay taken."""
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": bound_table(),
                    "Key": key,
                    "UpdateExpression": "ADD attempts :minus_one",
                    "ConditionExpression": "attempts > :zero",
                    "ExpressionAttributeValues": {":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
                }
            }
            for key in reservation.keys
        ]
        if member_of is not None:
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": bound_table(),
                        "Key": seat_key(*member_of),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                }
            )
        reasons = _transact(items) or []
        # Refused by a counter gone meanwhile (its window expired), nothing is left to give back; refused
        # by the seat's check, the member is not in that team.
        seat_missing = member_of is not None and bool(reasons) and reasons[-1].get("Code") == CHECK_FAILED
        return not seat_missing


def _transact(items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Run a transaction; None when it went through, else why each item refused it. Contention is tried
    again a few times; if it persists, every item is reported as conflicting."""
    for attempt in range(_CONFLICT_RETRIES + 1):
        try:
            aws_client("dynamodb").transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons: list[dict[str, Any]] = [
                dict(reason) for reason in error.response.get("CancellationReasons") or []
            ]
            if not any(reason.get("Code") == "TransactionConflict" for reason in reasons):
                return reasons
            if attempt < _CONFLICT_RETRIES:
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
            continue
        return None
    return [{"Code": "TransactionConflict"} for _ in items]
