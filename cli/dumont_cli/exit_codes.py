"""The `dumont` command's exit codes. Stable: scripts may test them (documented in the README)."""

from __future__ import annotations

from dumont import errors

OK = 0
API_ERROR = 1  # any other error the API answered
USAGE = 2  # a bad option or argument, or a request the API refused as invalid (400)
NOT_AUTHENTICATED = 3  # no API key, or one the API refuses (401), or a role that lacks the permission (403)
NOT_FOUND = 4  # no such instance, snapshot, webhook… in your team (404)
CONFLICT = 5  # not in a state that allows it, or a conflict (409)
RATE_LIMITED = 6  # past your plan's rate limit (429); Retry-After is printed
INSUFFICIENT_BALANCE = 7  # the team's balance does not pay for it (402)
UNAVAILABLE = 8  # the API could not be reached, or could not do it right now (5xx)
WAIT_FAILED = 9  # --wait ran out of time, or the object ended failed or deleted

DOCUMENTED = {
    OK: "success",
    API_ERROR: "any other error the API answered",
    USAGE: "bad usage, or a request the API refused as invalid (400)",
    NOT_AUTHENTICATED: "no API key, an unknown or revoked one (401), or a missing permission (403)",
    NOT_FOUND: "no such object in your team (404)",
    CONFLICT: "a state that does not allow it, or a conflict (409)",
    RATE_LIMITED: "rate limited (429)",
    INSUFFICIENT_BALANCE: "the balance does not pay for it (402)",
    UNAVAILABLE: "the API could not be reached or could not do it now (5xx)",
    WAIT_FAILED: "--wait timed out, or the object ended failed or deleted",
}

_BY_ERROR: list[tuple[type[errors.DumontError], int]] = [
    (errors.WaitTimeoutError, WAIT_FAILED),
    (errors.NotReadyError, WAIT_FAILED),
    (errors.ValidationError, USAGE),
    (errors.AuthenticationError, NOT_AUTHENTICATED),
    (errors.PermissionDeniedError, NOT_AUTHENTICATED),
    (errors.NotFoundError, NOT_FOUND),
    (errors.ConflictError, CONFLICT),
    (errors.RateLimitError, RATE_LIMITED),
    (errors.PaymentRequiredError, INSUFFICIENT_BALANCE),
    (errors.APIConnectionError, UNAVAILABLE),
    (errors.ServiceUnavailableError, UNAVAILABLE),
    (errors.InternalServerError, UNAVAILABLE),
]


def for_error(error: errors.DumontError) -> int:
    for kind, code in _BY_ERROR:
        if isinstance(error, kind):
            return code
    return API_ERROR
