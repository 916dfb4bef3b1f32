"""Vast's offer search: filters on the fields of an offer, an order and a limit, read the way Vast reads
them (values the CLI sends as strings, countries for `geolocation`, `_` for a space in a GPU's name) and
refused the way Vast refuses a query it cannot run."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from local_stack.marketplace.json_bodies import ApiError, Json, is_number
from local_stack.marketplace.offers import DEFAULT_STORAGE_GB, Offer, driver_number

_DEFAULT_SEARCH_LIMIT = 64
_MAX_SEARCH_LIMIT = 1000

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "in": lambda value, options: value in options,
    "notin": lambda value, options: value not in options,
}
_QUERY_KEYWORDS = {"order", "limit", "type", "allocated_storage", "disable_bundling", "select_cols"}
_PRICINGS = {"on-demand": "on-demand", "ondemand": "on-demand", "reserved": "on-demand", "bid": "bid"}
_PRICINGS["interruptible"] = "bid"
_TRUE_WORDS = {"true", "1", "yes"}
_FALSE_WORDS = {"false", "0", "no"}


def matching_offers(offers: Sequence[Offer], query: Json) -> list[Json]:
    """The offers still listed that `query` selects, in its order, rendered at the prices it asks for."""
    _validate_query(query, offers[0].as_json().keys())
    pricing = _PRICINGS[query.get("type", "on-demand")]
    storage = float(query.get("allocated_storage", DEFAULT_STORAGE_GB))
    listed = [offer.as_json(pricing, storage) for offer in offers if not offer.withdrawn]
    conditions = {name: condition for name, condition in query.items() if name not in _QUERY_KEYWORDS}
    matching = [offer for offer in listed if _offer_matches(offer, conditions)]
    ordered = _sorted_offers(matching, query.get("order", []))
    return ordered[: query.get("limit", _DEFAULT_SEARCH_LIMIT)]


def _offer_matches(offer: Json, conditions: Json) -> bool:
    return all(
        matches_condition(name, offer[name], op_name, operand)
        for name, condition in conditions.items()
        for op_name, operand in condition.items()
    )


def matches_condition(name: str, value: Any, op_name: str, operand: Any) -> bool:
    """Whether a field's `value` passes one filter (`op_name`, `operand`), as Vast reads the filter."""
    if op_name not in _COMPARISONS:
        raise ApiError(400, "invalid_request", f"Unknown operator {op_name!r} on {name!r}")
    if op_name in ("in", "notin") and not isinstance(operand, list):
        raise ApiError(400, "invalid_request", f"Operator {op_name!r} on {name!r} takes a list")
    if value is None and op_name not in ("eq", "neq", "in", "notin"):
        return False
    compared, wanted = _comparable(name, value, operand)
    try:
        return _COMPARISONS[op_name](compared, wanted)
    except TypeError as exc:
        raise ApiError(
            400, "invalid_request", f"Cannot compare {name}={value!r} with {op_name} {operand!r}"
        ) from exc


def _comparable(name: str, value: Any, operand: Any) -> tuple[Any, Any]:
    """The offer's value and the query's operand as Vast compares them."""
    if isinstance(operand, list):
        pairs = [_comparable(name, value, item) for item in operand]
        return (pairs[0][0] if pairs else value), [wanted for _, wanted in pairs]
    if name == "geolocation" and isinstance(value, str) and isinstance(operand, str) and "," not in operand:
        # A two-letter country code, as the CLI and Vast's documents give it, matches "Texas, US".
        return value.rsplit(",", 1)[-1].strip().upper(), operand.strip().upper()
    if name == "gpu_name" and isinstance(operand, str):
        return value, operand.replace("_", " ")
    if name == "driver_version" and isinstance(value, str) and is_number(operand):
        # The CLI turns `driver_version >= 535.86.05` into 535086005, as Vast orders versions.
        return driver_number(value), operand
    return value, _typed_like(name, value, operand)


def _typed_like(name: str, value: Any, operand: Any) -> Any:
    """The operand in the type of the field: the CLI sends every number it parsed as a string."""
    if isinstance(value, bool):
        if isinstance(operand, str) and operand.lower() in _TRUE_WORDS | _FALSE_WORDS:
            return operand.lower() in _TRUE_WORDS
        return operand
    if is_number(value) and isinstance(operand, str):
        try:
            return float(operand)
        except ValueError as exc:
            raise ApiError(400, "invalid_request", f"{name} takes a number, not {operand!r}") from exc
    if isinstance(value, str) and is_number(operand):
        return str(operand)
    return operand


def _validate_query(query: Json, fields: Iterable[str]) -> None:
    known = set(fields)
    _validate_filters(query, known)
    order = query.get("order", [])
    if not isinstance(order, list) or not all(
        isinstance(item, list) and len(item) == 2 and item[0] in known and item[1] in ("asc", "desc")
        for item in order
    ):
        raise ApiError(400, "invalid_request", f"Invalid order {order!r}: use [[field, 'asc'|'desc'], ...]")
    limit = query.get("limit", _DEFAULT_SEARCH_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_SEARCH_LIMIT:
        raise ApiError(400, "invalid_request", f"Invalid limit {limit!r}: from 1 to {_MAX_SEARCH_LIMIT}")
    if query.get("type", "on-demand") not in _PRICINGS:
        raise ApiError(
            400, "invalid_request", f"Invalid type {query.get('type')!r}: on-demand, bid or reserved"
        )
    storage = query.get("allocated_storage", DEFAULT_STORAGE_GB)
    if not is_number(storage) or storage < 0:
        raise ApiError(400, "invalid_request", f"Invalid allocated_storage {storage!r}: GB, 0 or more")


def _validate_filters(query: Json, known: set[str]) -> None:
    for name, condition in query.items():
        if name in _QUERY_KEYWORDS:
            continue
        if name not in known:
            raise ApiError(400, "invalid_request", f"Error in query: {name} is not a valid search key")
        if not isinstance(condition, dict) or not condition:
            raise ApiError(400, "invalid_request", f"Filter on {name!r} must be an object like {{'eq': ...}}")
        for op_name, operand in condition.items():
            if op_name not in _COMPARISONS:
                raise ApiError(400, "invalid_request", f"Unknown operator {op_name!r} on {name!r}")
            if op_name in ("in", "notin") and not isinstance(operand, list):
                raise ApiError(400, "invalid_request", f"Operator {op_name!r} on {name!r} takes a list")


def _sorted_offers(offers: list[Json], order: list[list[str]]) -> list[Json]:
    # Python's sort is stable, so sorting by the least significant key first gives a multi-key order.
    for name, direction in reversed(order):
        present = [offer for offer in offers if offer[name] is not None]
        missing = [offer for offer in offers if offer[name] is None]
        present.sort(key=lambda offer: offer[name], reverse=direction == "desc")
        offers = present + missing
    return offers
