"""Vast's paginated instance list (`GET /api/v1/instances/`): filters on the columns stored with a
contract, an order with `id` as the last tiebreaker, pages of at most 25 and keyset cursors, counted
the way Vast counts them."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from local_stack.marketplace.json_bodies import ApiError, Json
from local_stack.marketplace.search import matches_condition

MAX_PAGE = 25
_SMALL_PAGE = 5
FILTERABLE = frozenset(
    {
        "id",
        "label",
        "actual_status",
        "intended_status",
        "cur_state",
        "next_state",
        "gpu_name",
        "verification",
        "machine_id",
        "host_id",
        "image_uuid",
        "image_runtype",
        "is_bid",
        "start_date",
    }
)
"""Columns stored on the contract; computed ones (`dph_total`, `num_gpus`) are refused, as by Vast."""


def instance_page(machines: list[Json], args: Mapping[str, str]) -> Json:
    """One page of `machines` as the query string `args` asks for it."""
    filters = _json_arg(args, "select_filters", {}, dict)
    order = _order(_json_arg(args, "order_by", [{"col": "id", "dir": "asc"}], list))
    limit = _limit(args.get("limit"))
    for column, condition in filters.items():
        if column not in FILTERABLE:
            raise ApiError(
                400, "invalid_request", f"Error in query parameters: {column} is not a valid search key"
            )
        if not isinstance(condition, dict) or not condition:
            raise ApiError(400, "invalid_request", f"Filter on {column} must be an object like {{'eq': ...}}")
    matching = [machine for machine in machines if _matches(machine, filters)]
    matching.sort(key=functools.cmp_to_key(functools.partial(_compare, order=order)))
    after = args.get("after_token")
    rest = matching
    if after:
        last = _decoded_token(after, order)
        rest = [machine for machine in matching if _compare(machine, last, order) > 0]
    page = rest[:limit]
    more = len(rest) > limit
    return {
        "success": True,
        "instances_found": len(page),
        "total_instances": len(matching),
        "label_counts": dict(Counter(machine.get("label") or "" for machine in matching)),
        "next_token": _token(page[-1], order) if more and page else None,
        "instances": [_selected(machine, args) for machine in page],
    }


def _json_arg(args: Mapping[str, str], name: str, default: Any, kind: type) -> Any:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_request", f"{name} is not JSON: {raw[:100]!r}") from exc
    if not isinstance(value, kind):
        raise ApiError(400, "invalid_request", f"{name} must be a JSON {kind.__name__}")
    return value


def _order(order_by: list[Any]) -> list[tuple[str, bool]]:
    """(column, descending) pairs, `id` appended as the tiebreaker."""
    order: list[tuple[str, bool]] = []
    for item in order_by:
        column = item.get("col") if isinstance(item, dict) else None
        if column not in FILTERABLE:
            raise ApiError(400, "invalid_request", f"Error in query parameters: cannot order by {column!r}")
        order.append((column, item.get("dir") == "desc"))
    if not any(column == "id" for column, _ in order):
        order.append(("id", False))
    return order


def _limit(raw: str | None) -> int:
    if raw is None:
        return MAX_PAGE
    try:
        limit = int(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_request", f"limit must be a whole number, not {raw!r}") from exc
    return _SMALL_PAGE if limit <= 0 else min(limit, MAX_PAGE)


def _matches(machine: Json, filters: Json) -> bool:
    return all(
        matches_condition(column, machine.get(column), op, operand)
        for column, condition in filters.items()
        for op, operand in condition.items()
    )


def _compare(a: Json, b: Json, order: list[tuple[str, bool]]) -> int:
    for column, descending in order:
        left, right = a.get(column), b.get(column)
        if left == right:
            continue
        # None sorts first, as SQL's NULLS FIRST on an ascending column.
        result = (-1 if left is None else 1) if left is None or right is None else -1 if left < right else 1
        return -result if descending else result
    return 0


def _token(machine: Json, order: list[tuple[str, bool]]) -> str:
    values = {column: machine.get(column) for column, _ in order}
    return base64.urlsafe_b64encode(json.dumps({"values": values}).encode()).decode()


def _decoded_token(token: str, order: list[tuple[str, bool]]) -> Json:
    try:
        values = json.loads(base64.urlsafe_b64decode(token.encode()))["values"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ApiError(400, "invalid_token", "after_token is not a token this list gave out") from exc
    if not isinstance(values, dict) or any(column not in values for column, _ in order):
        raise ApiError(400, "invalid_token", "after_token was given out for another order")
    return values


def _selected(machine: Json, args: Mapping[str, str]) -> Json:
    columns = _json_arg(args, "select_cols", ["*"], list)
    if "*" in columns:
        return machine
    return {str(column): machine.get(str(column)) for column in columns}
