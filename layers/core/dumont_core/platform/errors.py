"""Domain errors. Each has a stable code and the HTTP status the API maps it to, in one place."""

from __future__ import annotations

from typing import Any


class DumontError(Exception):
    code = "INTERNAL_ERROR"
    http_status = 500
    retry_after: int | None = None
    """Seconds after which the same request may succeed (the `Retry-After` header), when known."""

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ValidationFailed(DumontError):
    code = "VALIDATION_ERROR"
    http_status = 400


class InstanceNotFound(DumontError):
    code = "INSTANCE_NOT_FOUND"
    http_status = 404

    def __init__(self, instance_id: str) -> None:
        super().__init__(f"Instance {instance_id} not found", details={"instance_id": instance_id})


class InvalidState(DumontError):
    code = "INVALID_STATE"
    http_status = 409

    def __init__(self, instance_id: str, action: str, current_state: str, allowed_from: list[str]) -> None:
        allowed = ", ".join(allowed_from) if allowed_from else "no state"
        super().__init__(
            f"Cannot {action} instance {instance_id} while it is {current_state}; "
            f"{action} is allowed when it is {allowed}",
            details={
                "instance_id": instance_id,
                "action": action,
                "current_state": current_state,
                "allowed_states": allowed_from,
            },
        )


class Conflict(DumontError):
    code = "CONFLICT"
    http_status = 409


class ServiceUnavailable(DumontError):
    code = "SERVICE_UNAVAILABLE"
    http_status = 503


class Unauthenticated(DumontError):
    code = "UNAUTHENTICATED"
    http_status = 401


class Forbidden(DumontError):
    code = "FORBIDDEN"
    http_status = 403


class NotFound(DumontError):
    """A resource that is not there, or not visible to the caller's team (never told apart)."""

    http_status = 404

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message, details=details)
        self.code = code


class RateLimited(DumontError):
    code = "RATE_LIMITED"
    http_status = 429


class TooManyAttempts(DumontError):
    """Too many failed logins, or registrations, from one account or address: wait `retry_after`."""

    code = "TOO_MANY_ATTEMPTS"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class UnsupportedMediaType(DumontError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415


class InsufficientBalance(DumontError):
    """The team's balance does not pay for what was asked (an hour of the machine it would rent)."""

    code = "INSUFFICIENT_BALANCE"
    http_status = 402

    def __init__(self, action: str, *, balance: float, needed: float) -> None:
        super().__init__(
            f"Insufficient balance to {action}: the balance is ${balance:.2f} and one hour of this machine "
            f"needs ${needed:.2f}; add credits (POST /api/v1/billing/add-credits) and try again",
            details={"balance": balance, "needed": needed, "currency": "USD"},
        )
