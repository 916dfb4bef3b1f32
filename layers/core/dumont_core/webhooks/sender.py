"""Sending one delivery: its receiver's address checked again, one signed POST with short timeouts, and
what came of it recorded. A failure is retried after a wait that doubles each time, for the retry period
(24 hours in AWS); then the delivery goes to the dead-letter queue, and a subscription whose deliveries
failed for that long is disabled, with `webhook.disabled` saying so."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import httpx

from dumont_core.platform.clock import Clock, utc_now
from dumont_core.platform.events import EventPublisher
from dumont_core.webhooks import signing
from dumont_core.webhooks.addresses import (
    AddressPolicy,
    RefusedAddress,
    Resolver,
    Target,
    check,
    system_resolver,
)
from dumont_core.webhooks.events import WebhookDisabled
from dumont_core.webhooks.models import (
    PING_EVENT,
    Attempt,
    Delivery,
    DeliveryRef,
    DeliveryStatus,
    Subscription,
)
from dumont_core.webhooks.repository import WebhookRepository
from dumont_core.webhooks.retries import Backoff
from dumont_core.webhooks.service import DeliveryQueue

MAX_ERROR_LENGTH = 300


class Poster(Protocol):
    def post(self, target: Target, body: bytes, headers: dict[str, str]) -> Attempt: ...


class HttpPoster:
    """POSTs with httpx to the address that was checked, the URL's host named in `Host` and, over TLS, in
    SNI and the certificate check. Redirects are not followed: they could lead anywhere."""

    def __init__(
        self, timeout_seconds: float, clock: Clock = utc_now, verify: ssl.SSLContext | bool = True
    ) -> None:
        """`verify`: the certificates receivers are checked against; the system's CAs unless a test
        trusts its own."""
        self._timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 3.0))
        self._clock = clock
        self._verify = verify
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        # One client for every delivery: making one loads the CA bundle, which costs more than most POSTs.
        # No connection is kept: one made for a host name is not to carry another's request.
        if self._client is None:
            self._client = httpx.Client(
                timeout=self._timeout,
                verify=self._verify,
                follow_redirects=False,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
        return self._client

    def post(self, target: Target, body: bytes, headers: dict[str, str]) -> Attempt:
        extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
        at, started = self._clock(), time.monotonic()
        try:
            response = self._http().post(
                target.connect_url,
                content=body,
                headers={**headers, "Host": target.host_header},
                extensions=extensions,
            )
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
            # ValueError: a path or host httpx cannot put in a request; the delivery fails like any other.
            return Attempt(
                at=at,
                response_code=None,
                latency_ms=_since(started),
                error=f"{type(error).__name__}: {error}",
            )
        return Attempt(at=at, response_code=response.status_code, latency_ms=_since(started))


def _since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


@dataclass(frozen=True, kw_only=True)
class DeliverySender:
    repository: WebhookRepository
    poster: Poster
    dead_letters: DeliveryQueue
    publisher: EventPublisher
    policy: AddressPolicy
    backoff: Backoff
    give_up_after: timedelta
    resolver: Resolver = system_resolver
    clock: Clock = field(default=utc_now)
    receive_limit: int | None = None
    """The deliveries queue's maximum receives: a failure at the last receive but one is final, so the
    sender records it and moves it to the dead-letter queue before the queue would, unrecorded."""

    def send(self, ref: DeliveryRef, receive_count: int = 1) -> float | None:
        """Try the delivery once, at the `receive_count`-th receive of its message. None when it is done
        with (delivered, given up, or nothing to do); else how many seconds to wait before it is tried
        again."""
        delivery = self.repository.delivery(ref.webhook_id, ref.delivery_id)
        if delivery is None or delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
            return None
        subscription = self.repository.subscription(ref.team_id, ref.webhook_id)
        if subscription is None or not (subscription.enabled or delivery.event == PING_EVENT):
            why = "its webhook was deleted" if subscription is None else "its webhook is disabled"
            self._record(delivery, status=DeliveryStatus.FAILED, attempt=None, error=why)
            return None
        attempt = self._attempt(subscription, delivery)
        if attempt.succeeded:
            self._record(delivery, status=DeliveryStatus.DELIVERED, attempt=attempt)
            if subscription.failing_since is not None:
                self.repository.clear_failing(subscription.team_id, subscription.webhook_id)
            return None
        return self._failed(subscription, delivery, attempt, ref, receive_count)

    def _attempt(self, subscription: Subscription, delivery: Delivery) -> Attempt:
        now = self.clock()
        try:
            target = check(subscription.url, self.policy, self.resolver)
        except RefusedAddress as error:
            return Attempt(at=now, response_code=None, latency_ms=0, error=error.message)
        if target is None:
            return Attempt(at=now, response_code=None, latency_ms=0, error="its host name does not resolve")
        body = delivery.body.encode()
        headers = signing.headers(
            subscription.secret, body, event=delivery.event, delivery_id=delivery.delivery_id, at=now
        )
        return self.poster.post(target, body, headers)

    def _failed(
        self,
        subscription: Subscription,
        delivery: Delivery,
        attempt: Attempt,
        ref: DeliveryRef,
        receive_count: int,
    ) -> float | None:
        now = attempt.at
        error = attempt.error or f"the receiver answered {attempt.response_code}"
        out_of_receives = self.receive_limit is not None and receive_count >= self.receive_limit - 1
        if out_of_receives:
            error = f"given up after {receive_count} attempts, as many as its queue allows: {error}"
        expired = out_of_receives or now - delivery.created_at >= self.give_up_after
        wait = None if expired else self.backoff.after(delivery.attempts + 1)
        recorded = self._record(
            delivery,
            status=DeliveryStatus.FAILED if expired else DeliveryStatus.RETRYING,
            attempt=attempt,
            error=error,
            next_attempt_at=None if wait is None else now + timedelta(seconds=wait),
        )
        if not recorded:
            return None  # another attempt was recorded meanwhile: that one decides what comes next
        if expired:
            self.dead_letters.enqueue([ref])
        self._note_failure(subscription, now)
        return wait

    def _note_failure(self, subscription: Subscription, now: datetime) -> None:
        since = subscription.failing_since
        if since is None:
            # Only the first failure since a success writes: a receiver that is down costs no more.
            failing = self.repository.mark_failing(subscription.team_id, subscription.webhook_id, now)
            since = None if failing is None else failing.failing_since
        if since is None or not subscription.enabled or now - since < self.give_up_after:
            return
        hours = self.give_up_after.total_seconds() / 3600
        reason = f"every delivery failed for {hours:g} hours"
        disabled = self.repository.disable(subscription.team_id, subscription.webhook_id, reason)
        if disabled is not None:
            self.publisher.publish(
                [
                    WebhookDisabled(
                        account_id=subscription.created_by,
                        team_id=subscription.team_id,
                        webhook_id=subscription.webhook_id,
                        url=subscription.url,
                        failing_since=since,
                        reason=reason,
                        timestamp=now,
                    )
                ]
            )

    def _record(
        self,
        delivery: Delivery,
        *,
        status: DeliveryStatus,
        attempt: Attempt | None,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> bool:
        changes: dict[str, object] = {"status": status, "next_attempt_at": next_attempt_at, "error": None}
        if error is not None:
            changes["error"] = error[:MAX_ERROR_LENGTH]
        if attempt is not None:
            changes.update(
                attempts=delivery.attempts + 1,
                response_code=attempt.response_code,
                latency_ms=attempt.latency_ms,
                last_attempt_at=attempt.at,
            )
        return self.repository.record_attempt(delivery, delivery.model_copy(update=changes))
