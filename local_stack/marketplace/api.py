"""The Vast.ai REST API over the simulated market: its routes and the answers' shapes, the API key,
the JSON it insists on, failures injected into its answers, and a record of the requests it saw."""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from local_stack.faults import PROVIDER_ERROR_STATUSES, RandomFault
from local_stack.marketplace.json_bodies import ApiError, Json, error_body, json_response
from local_stack.marketplace.listing import instance_page
from local_stack.marketplace.market import SimulatedMarket

OPERATIONS = ("search", "create", "list", "filters", "show", "manage", "reboot", "destroy", "user")


def api_rules() -> list[Rule]:
    """One rule an operation, the operation its endpoint; new ones each time, as a rule joins one map."""
    return [
        Rule("/api/v0/bundles/", endpoint="search", methods=["POST", "GET"]),
        # The CLI's `search offers --new` asks here, the query under "q".
        Rule("/api/v0/search/asks/", endpoint="search", methods=["PUT"]),
        Rule("/api/v0/asks/<int:offer_id>/", endpoint="create", methods=["PUT"]),
        # Deprecated by Vast but still answered: every instance at once.
        Rule("/api/v0/instances/", endpoint="list", methods=["GET"]),
        Rule("/api/v1/instances/", endpoint="list", methods=["GET"]),
        # What `show instances` offers to filter by: each combination of status, vetting and GPU in use.
        Rule("/api/v0/instances/filters/", endpoint="filters", methods=["GET"]),
        Rule("/api/v0/users/current", endpoint="user", methods=["GET"]),
        Rule("/api/v0/users/current/", endpoint="user", methods=["GET"]),
        Rule("/api/v0/instances/<int:instance_id>/", endpoint="show", methods=["GET"]),
        Rule("/api/v0/instances/<int:instance_id>/", endpoint="manage", methods=["PUT"]),
        Rule("/api/v0/instances/<int:instance_id>/", endpoint="destroy", methods=["DELETE"]),
        Rule("/api/v0/instances/reboot/<int:instance_id>/", endpoint="reboot", methods=["PUT"]),
    ]


_MAX_RECORDED_REQUESTS = 1000


@dataclass
class _InjectedFailure:
    operation: str
    remaining: int
    status: int
    body: Json | str | None
    retry_after: float | None
    label_ending: str | None
    """Only calls about a machine whose label ends so fail (for a rent, the label asked for)."""


class VastApi:
    """Answers Vast's API operations from a simulated market, for callers holding the API key."""

    def __init__(self, market: SimulatedMarket, api_key: str) -> None:
        self.api_key = api_key
        self._market = market
        self._lock = threading.Lock()
        self._injected: list[_InjectedFailure] = []
        self._requests: list[Json] = []
        self._received = 0
        """How many requests were answered so far: each recorded one carries its number, `seq`."""
        self.random_errors = RandomFault()
        """Answers 5xx to this fraction of the authorized calls, at random (`/_sim/faults`)."""

    def respond(self, operation: str, args: Mapping[str, Any], request: Request) -> Response:
        """Answer one request for `operation` and record it."""
        response = self._answer(operation, args, request)
        with self._lock:
            self._received += 1
            self._requests.append(
                {
                    "seq": self._received,
                    "method": request.method,
                    "path": request.path,
                    "operation": operation,
                    "content_type": request.headers.get("Content-Type"),
                    "authorized": self._authorized(request),
                    "body": _parsed_or_raw(request.get_data()),
                    "status": response.status_code,
                }
            )
            del self._requests[:-_MAX_RECORDED_REQUESTS]
        return response

    def requests_seen(self) -> list[Json]:
        """API requests received so far, oldest first (the API key itself is never recorded)."""
        with self._lock:
            return [dict(entry) for entry in self._requests]

    def fail_next_calls(
        self,
        operation: str,
        count: int,
        status: int,
        body: Json | str | None,
        retry_after: float | None,
        label_ending: str | None = None,
    ) -> None:
        """The next `count` calls of `operation` (one of OPERATIONS, or "any") answer `status`; with
        `label_ending`, only the calls about a machine labelled so count."""
        if operation not in (*OPERATIONS, "any"):
            raise ValueError(f"operation must be one of {[*OPERATIONS, 'any']}, not {operation!r}")
        if count < 1 or not 100 <= status <= 599:
            raise ValueError("count must be positive and status a valid HTTP status")
        with self._lock:
            self._injected.append(_InjectedFailure(operation, count, status, body, retry_after, label_ending))

    def clear_injected_failures(self) -> None:
        with self._lock:
            self._injected.clear()

    def reset(self) -> None:
        """Forget injected failures, random errors included, and the requests seen."""
        with self._lock:
            self._injected.clear()
            self._requests.clear()
        self.random_errors.set(0.0)

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.api_key}".encode())

    def _answer(self, operation: str, args: Mapping[str, Any], request: Request) -> Response:
        try:
            if not self._authorized(request):
                raise ApiError(401, "auth_error", "Invalid user key")
            raw = request.get_data()
            content_type = request.headers.get("Content-Type")
            if raw and content_type != "application/json":
                raise ApiError(
                    415,
                    "unsupported_media_type",
                    f"Content-Type must be exactly application/json, got {content_type!r}",
                )
            body = _json_object(raw)
            injected = self._take_injected_failure(
                operation, lambda: self._label_concerned(operation, args, body)
            )
            if injected is not None:
                return injected
            if self.random_errors.strikes():
                status = self.random_errors.choice(PROVIDER_ERROR_STATUSES)
                return json_response(status, _default_failure_body(status))
            if operation == "search" and request.method == "GET":
                body = _query_from_url(request)
            elif operation == "search" and request.method == "PUT":
                body = _json_object_in(body, "q")
            elif operation == "list":
                body = dict(request.args)
                body["version"] = request.path.split("/")[2]
            return json_response(200, self._operate(operation, args, body))
        except ApiError as exc:
            return json_response(exc.status, exc.body)

    def _label_concerned(self, operation: str, args: Mapping[str, Any], body: Json) -> str:
        """The label of the machine the call is about: the one asked for by a rent, else the machine's."""
        if operation == "create":
            return str(body.get("label") or "")
        machine = self._market.show(args["instance_id"]) if "instance_id" in args else None
        return str((machine or {}).get("label") or "")

    def _take_injected_failure(self, operation: str, label_of_call: Callable[[], str]) -> Response | None:
        with self._lock:
            filtered = any(failure.label_ending is not None for failure in self._injected)
        label = label_of_call() if filtered else ""
        with self._lock:
            for failure in self._injected:
                if failure.operation in (operation, "any") and (
                    failure.label_ending is None or label.endswith(failure.label_ending)
                ):
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self._injected.remove(failure)
                    break
            else:
                return None
        headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else {}
        if isinstance(failure.body, str):
            return Response(failure.body, status=failure.status, mimetype="text/html", headers=headers)
        body = failure.body if failure.body is not None else _default_failure_body(failure.status)
        return json_response(failure.status, body, headers=headers)

    def _operate(self, operation: str, args: Mapping[str, Any], body: Json) -> Json:
        market = self._market
        if operation == "search":
            return {"offers": market.search(body)}
        if operation == "create":
            return {"success": True, "new_contract": market.rent(args["offer_id"], body)}
        if operation in ("list", "filters", "user"):
            return _account_view(operation, market.machines(), body)
        instance_id = args["instance_id"]
        if operation == "show":
            return {"instances": market.show(instance_id)}
        if operation == "manage":
            market.manage(instance_id, body)
        elif operation == "reboot":
            market.reboot(instance_id)
        elif operation == "destroy":
            market.destroy(instance_id)
        else:
            raise AssertionError(f"unrouted operation {operation}")
        return {"success": True}


def _account_view(operation: str, machines: list[Json], body: Json) -> Json:
    """The account's instances (a v0 list, a v1 page, what they can be filtered by), or the account."""
    if operation == "user":
        return dict(_LOCAL_USER)
    if operation == "filters":
        columns = ("actual_status", "verification", "gpu_name")
        combinations = {tuple(machine.get(column) for column in columns) for machine in machines}
        ordered = sorted(combinations, key=str)
        return {"filters": [dict(zip(columns, values, strict=True)) for values in ordered]}
    if body.pop("version") == "v0":
        return {"instances_found": len(machines), "instances": machines}
    return instance_page(machines, body)


def _json_object(raw: bytes) -> Json:
    try:
        body = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise ApiError(400, "invalid_json", "Body is not JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "Body must be a JSON object")
    return body


_LOCAL_USER: Json = {
    "id": 1,
    "key_id": 1,
    "username": "local",
    "fullname": "Local marketplace user",
    "email": "local@marketplace.invalid",
    "balance": 0.0,
    "credit": 1000.0,
    "balance_threshold": 0.0,
    "balance_threshold_enabled": False,
    "billaddress_city": None,
    "billaddress_country": None,
    "billaddress_line1": None,
    "billaddress_line2": None,
    "billaddress_zip": None,
    "billed_expected": 0.0,
    "billed_verified": 0.0,
    "billing_creditonly": 0,
    "can_pay": True,
    "has_billing": True,
    "host_agreement_accepted": False,
    "email_verified": True,
    "ssh_key": "",
    "sid": "local",
    "user": "local",
}
"""Who the marketplace's API key belongs to, as `users/current` shows an account (its key left out)."""


def _json_object_in(body: Json, name: str) -> Json:
    inner = body.get(name, {})
    if not isinstance(inner, dict):
        raise ApiError(400, "invalid_request", f"{name} must be a JSON object")
    return inner


def _query_from_url(request: Request) -> Json:
    # Older clients send the query as `?q=<json>` on a GET.
    try:
        query = json.loads(request.args.get("q", "{}"))
    except ValueError as exc:
        raise ApiError(400, "invalid_args", "q is not JSON") from exc
    return query if isinstance(query, dict) else {}


def _default_failure_body(status: int) -> Json:
    if status == 429:
        return {"detail": "API requests too frequent endpoint threshold=4.0"}
    if status == 410:
        return error_body("no_such_ask", "Instance type is no longer available.")
    return error_body("server_error", f"Simulated failure ({status})")


def _parsed_or_raw(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
