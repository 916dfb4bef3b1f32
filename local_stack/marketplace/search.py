"""Vast's offer search: filters on the fields of an offer, an order and a limit, refused the way Vast
refuses a query it cannot run."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from local_stack.marketplace.json_bodies import ApiError, Json
from local_stack.marketplace.offers import Offer

_DEFAULT_SEARCH_LIMIT = 64

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
_QUERY_KEYWORDS = {"order", "limit", "type", "allocated_storage"}


def matching_offers(offers: Sequence[Offer], query: Json) -> list[Json]:
    """The offers still listed that `query` selects, in its order, rendered at the prices it asks for."""
    pricing = query.get("type", "on-demand")
    _validate_query(query, offers[0].as_json().keys())
    listed = [offer.as_json(pricing) for offer in offers if not offer.withdrawn]
    matching = [offer for offer in listed if _offer_matches(offer, query)]
    ordered = _sorted_offers(matching, query.get("order", []))
    return ordered[: query.get("limit", _DEFAULT_SEARCH_LIMIT)]


def _offer_matches(offer: Json, query: Json) -> bool:
    for name, condition in query.items():
        if name in _QUERY_KEYWORDS:
            continue
        value = offer[name]
        for op_name, operand in condition.items():
            if value is None and op_name not in ("eq", "neq"):
                return False
            try:
                if not _COMPARISONS[op_name](value, operand):
                    return False
            except TypeError as exc:
                raise ApiError(
                    400, "invalid_args", f"Cannot compare {name}={value!r} with {op_name} {operand!r}"
                ) from exc
    return True


def _validate_query(query: Json, fields: Iterable[str]) -> None:
    known = set(fields)
    _validate_filters(query, known)
    order = query.get("order", [])
    if not isinstance(order, list) or not all(
        isinstance(item, list) and len(item) == 2 and item[0] in known and item[1] in ("asc", "desc")
        for item in order
    ):
        raise ApiError(400, "invalid_args", f"Invalid order {order!r}: use [[field, 'asc'|'desc'], ...]")
    limit = query.get("limit", _DEFAULT_SEARCH_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ApiError(400, "invalid_args", f"Invalid limit {limit!r}")
    if query.get("type", "on-demand") not in ("on-demand", "ask", "bid"):
        raise ApiError(400, "invalid_args", f"Invalid type {query.get('type')!r}")


def _validate_filters(query: Json, known: set[str]) -> None:
    for name, condition in query.items():
        if name in _QUERY_KEYWORDS:
            continue
        if name not in known:
            raise ApiError(400, "invalid_args", f"Unknown search field {name!r}")
        if not isinstance(condition, dict) or not condition:
            raise ApiError(400, "invalid_args", f"Filter on {name!r} must be an object like {{'eq': ...}}")
        for op_name, operand in condition.items():
            if op_name not in _COMPARISONS:
                raise ApiError(400, "invalid_args", f"Unknown operator {op_name!r} on {name!r}")
            if op_name in ("in", "notin") and not isinstance(operand, list):
                raise ApiError(400, "invalid_args", f"Operator {op_name!r} on {name!r} takes a list")


def _sorted_offers(offers: list[Json], order: list[list[str]]) -> list[Json]:
    # Python's sort is stable, so sorting by the least significant key first gives a multi-key order.
    for name, direction in reversed(order):
        present = [offer for offer in offers if offer[name] is not None]
        missing = [offer for offer in offers if offer[name] is None]
        present.sort(key=lambda offer: offer[name], reverse=direction == "desc")
        offers = present + missing
    return offers
