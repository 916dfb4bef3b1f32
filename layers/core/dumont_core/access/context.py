"""The principal and rate-limit window as they travel from the authorizer to the API function.

API Gateway passes an authorizer's context as flat strings, numbers and booleans; these functions
are the one place that writes and reads that shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dumont_core.access.rates import RateWindow
from dumont_core.platform.identity import Principal


def principal_context(principal: Principal) -> dict[str, str]:
    return {
        "account_id": principal.account_id,
        "team_id": principal.team_id,
        "role": principal.role,
        "plan": principal.plan,
        "permissions": " ".join(sorted(principal.permissions)),
        "key_id": principal.key_id or "",
        "instance_id": principal.instance_id or "",
        "standby": "true" if principal.standby else "",
        "demo": "true" if principal.demo else "",
    }


def principal_from_context(context: Mapping[str, Any]) -> Principal | None:
    account_id, team_id = context.get("account_id"), context.get("team_id")
    if not (account_id and team_id):
        return None
    return Principal(
        account_id=str(account_id),
        team_id=str(team_id),
        role=str(context.get("role") or ""),
        plan=str(context.get("plan") or ""),
        permissions=frozenset(str(context.get("permissions") or "").split()),
        key_id=str(context.get("key_id") or "") or None,
        instance_id=str(context.get("instance_id") or "") or None,
        standby=str(context.get("standby") or "").lower() == "true",
        demo=str(context.get("demo") or "").lower() == "true",
    )


def rate_context(rate: RateWindow) -> dict[str, str | int | bool]:
    return {
        "rate_limit": rate.limit,
        "rate_remaining": rate.remaining,
        "rate_reset": rate.reset_at,
        "rate_limited": rate.limited,
    }


def rate_from_context(context: Mapping[str, Any]) -> RateWindow | None:
    if "rate_limit" not in context:
        return None
    # API Gateway hands every context value over as a string.
    return RateWindow(
        limit=int(context["rate_limit"]),
        remaining=int(context["rate_remaining"]),
        reset_at=int(context["rate_reset"]),
        limited=str(context.get("rate_limited")).lower() == "true",
    )
