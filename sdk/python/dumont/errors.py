"""Errors the API answers, one class per stable code, raised with the API's own message."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class DumontError(Exception):
    """Any error from the Dumont Cloud API (or from reaching it).

    `message` is the API's sentence for a person, `code` its stable code (`INSTANCE_NOT_FOUND`, …),
    `status` the HTTP status (None when no answer came), `details` what the API added (`fields`, …).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "ERROR",
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details: dict[str, Any] = details or {}
        self.headers = headers or httpx.Headers()

    def __str__(self) -> str:
        where = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{self.code}: {self.message}{where}"


class ValidationError(DumontError):
    """400 VALIDATION_ERROR: `details["fields"]` names each bad field."""


class AuthenticationError(DumontError):
    """401 UNAUTHENTICATED: no key, or an unknown, revoked or expired one."""


class PaymentRequiredError(DumontError):
    """402 INSUFFICIENT_BALANCE: `details` has the balance and what was needed."""


class InsufficientBalanceError(PaymentRequiredError):
    """402 INSUFFICIENT_BALANCE."""


class PermissionDeniedError(DumontError):
    """403 FORBIDDEN: `details["permission"]` names what your role lacks."""


class NotFoundError(DumontError):
    """404: nothing of that id in your team."""


class InstanceNotFoundError(NotFoundError):
    """404 INSTANCE_NOT_FOUND."""


class SnapshotNotFoundError(NotFoundError):
    """404 SNAPSHOT_NOT_FOUND."""


class WebhookNotFoundError(NotFoundError):
    """404 WEBHOOK_NOT_FOUND."""


class ApiKeyNotFoundError(NotFoundError):
    """404 API_KEY_NOT_FOUND."""


class TeamNotFoundError(NotFoundError):
    """404 TEAM_NOT_FOUND, MEMBER_NOT_FOUND, ROLE_NOT_FOUND or ACCOUNT_NOT_FOUND."""


class MethodNotAllowedError(DumontError):
    """405 METHOD_NOT_ALLOWED."""


class ConflictError(DumontError):
    """409 CONFLICT: e.g. a reused idempotency key, or an email already registered."""


class InvalidStateError(ConflictError):
    """409 INVALID_STATE: `details["current_state"]` and `details["allowed_states"]`."""


class UnsupportedMediaTypeError(DumontError):
    """415 UNSUPPORTED_MEDIA_TYPE."""


class RateLimitError(DumontError):
    """429 RATE_LIMITED: `retry_after` is how many seconds to wait."""

    @property
    def retry_after(self) -> float:
        """`Retry-After` as seconds or as an HTTP date (RFC 9110 allows both); 1 s when it is neither."""
        raw = self.headers.get("Retry-After") or self.details.get("retry_after")
        if raw is None:
            return 1.0
        try:
            return max(float(raw), 0.0)
        except ValueError:
            pass
        until = _http_date(str(raw))
        if until is None:
            return 1.0
        # Against the answer's own `Date` when it has one, so a client clock that is off does not matter.
        now = _http_date(self.headers.get("Date", "")) or datetime.now(UTC)
        return max((until - now).total_seconds(), 0.0)


def _http_date(text: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class TooManyAttemptsError(RateLimitError):
    """429 TOO_MANY_ATTEMPTS: too many failed logins or sign-ups; `retry_after` says when."""


class InternalServerError(DumontError):
    """500 INTERNAL_ERROR."""


class ServiceUnavailableError(DumontError):
    """503 SERVICE_UNAVAILABLE: nothing was changed; retry."""


class APIConnectionError(DumontError):
    """The API could not be reached (no answer at all)."""


class WaitTimeoutError(DumontError):
    """A `wait_until_*` ran out of time before the object reached the state waited for."""


class NotReadyError(DumontError):
    """A `wait_until_*` saw the object end in a state it will not leave (failed, deleted)."""


ERRORS_BY_CODE: dict[str, type[DumontError]] = {
    "VALIDATION_ERROR": ValidationError,
    "UNAUTHENTICATED": AuthenticationError,
    "INSUFFICIENT_BALANCE": InsufficientBalanceError,
    "FORBIDDEN": PermissionDeniedError,
    "INSTANCE_NOT_FOUND": InstanceNotFoundError,
    "SNAPSHOT_NOT_FOUND": SnapshotNotFoundError,
    "WEBHOOK_NOT_FOUND": WebhookNotFoundError,
    "DELIVERY_NOT_FOUND": WebhookNotFoundError,
    "API_KEY_NOT_FOUND": ApiKeyNotFoundError,
    "TEAM_NOT_FOUND": TeamNotFoundError,
    "MEMBER_NOT_FOUND": TeamNotFoundError,
    "ROLE_NOT_FOUND": TeamNotFoundError,
    "ACCOUNT_NOT_FOUND": TeamNotFoundError,
    "METHOD_NOT_ALLOWED": MethodNotAllowedError,
    "CONFLICT": ConflictError,
    "INVALID_STATE": InvalidStateError,
    "UNSUPPORTED_MEDIA_TYPE": UnsupportedMediaTypeError,
    "RATE_LIMITED": RateLimitError,
    "TOO_MANY_ATTEMPTS": TooManyAttemptsError,
    "INTERNAL_ERROR": InternalServerError,
    "SERVICE_UNAVAILABLE": ServiceUnavailableError,
}
ERRORS_BY_STATUS: dict[int, type[DumontError]] = {
    400: ValidationError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    415: UnsupportedMediaTypeError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_from_response(response: httpx.Response) -> DumontError:
    """The error an answer of status >= 400 stands for, read from the API's error envelope."""
    code, message, details = _envelope(response)
    cls = ERRORS_BY_CODE.get(code) or ERRORS_BY_STATUS.get(response.status_code)
    if cls is None:
        cls = InternalServerError if response.status_code >= 500 else DumontError
    return cls(message, code=code, status=response.status_code, details=details, headers=response.headers)


def _envelope(response: httpx.Response) -> tuple[str, str, dict[str, Any]]:
    fallback = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    try:
        body = response.json()
    except ValueError:
        return f"HTTP_{response.status_code}", response.text.strip()[:500] or fallback, {}
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        details = error.get("details")
        return (
            str(error.get("code") or f"HTTP_{response.status_code}"),
            str(error.get("message") or fallback),
            details if isinstance(details, dict) else {},
        )
    message = body.get("message") if isinstance(body, dict) else None
    return f"HTTP_{response.status_code}", str(message or fallback), {}
