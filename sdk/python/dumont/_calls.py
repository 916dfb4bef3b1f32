"""Every request the SDK makes, as a `Call`: route, parameters, body and how to read the answer.

The sync and async resources both build their requests here, so the two clients cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dumont._transport import Call, route

Json = dict[str, Any]


@dataclass(frozen=True)
class PageData:
    items: list[Json]
    page: int
    per_page: int
    total: int | None

    @property
    def last(self) -> bool:
        if not self.items:
            return True
        if self.total is None:
            return len(self.items) < self.per_page
        return self.page * self.per_page >= self.total


def data(body: Any) -> Any:
    """The `data` of a `{"success": true, "data": …}` envelope; an unversioned answer as it is."""
    if isinstance(body, dict) and "data" in body and body.get("success") is True:
        return body["data"]
    return body


def page_of(page: int, per_page: int) -> Any:
    def read(body: Any) -> PageData:
        meta = body.get("meta") or {} if isinstance(body, dict) else {}
        return PageData(
            items=list(data(body) or []),
            page=int(meta.get("page", page)),
            per_page=int(meta.get("per_page", per_page)),
            total=meta.get("total"),
        )

    return read


def get(method_path: tuple[str, str], params: dict[str, Any] | None = None, **path: str) -> Call[Any]:
    return Call(method_path, data, path_params=path, params=params)


def send(method_path: tuple[str, str], body: Any = None, *, creates: bool = False, **path: str) -> Call[Any]:
    return Call(method_path, data, path_params=path, body=body, creates=creates)


def page(
    method_path: tuple[str, str], page_number: int, per_page: int, params: dict[str, Any], **path: str
) -> Call[PageData]:
    return Call(
        method_path,
        page_of(page_number, per_page),
        path_params=path,
        params={**params, "page": page_number, "per_page": per_page},
    )


def without_none(**fields: Any) -> Json:
    return {key: value for key, value in fields.items() if value is not None}


# Instances
LIST_INSTANCES = route("GET", "/api/v1/instances")
CREATE_INSTANCE = route("POST", "/api/v1/instances")
GET_INSTANCE = route("GET", "/api/v1/instances/{instance_id}")
DELETE_INSTANCE = route("DELETE", "/api/v1/instances/{instance_id}")
START_INSTANCE = route("POST", "/api/v1/instances/{instance_id}/start")
STOP_INSTANCE = route("POST", "/api/v1/instances/{instance_id}/stop")
REBOOT_INSTANCE = route("POST", "/api/v1/instances/{instance_id}/reboot")
INSTANCE_EVENTS = route("GET", "/api/v1/instances/{instance_id}/events")
INSTANCE_LOGS = route("GET", "/api/v1/instances/{instance_id}/logs")
INSTANCE_METRICS = route("GET", "/api/v1/instances/{instance_id}/metrics")
HIBERNATE = route("POST", "/api/instances/{instance_id}/hibernate")
WAKE = route("POST", "/api/instances/{instance_id}/wake")
LIST_SSH_KEYS = route("GET", "/api/v1/instances/{instance_id}/ssh-keys")
ADD_SSH_KEY = route("POST", "/api/v1/instances/{instance_id}/ssh-keys")
REMOVE_SSH_KEY = route("DELETE", "/api/v1/instances/{instance_id}/ssh-keys/{key_id}")
HIBERNATION_EVENTS = route("GET", "/api/metrics/hibernation/events")

# Your account's SSH keys, given to every instance created after
LIST_ACCOUNT_SSH_KEYS = route("GET", "/api/v1/ssh-keys")
ADD_ACCOUNT_SSH_KEY = route("POST", "/api/v1/ssh-keys")
REMOVE_ACCOUNT_SSH_KEY = route("DELETE", "/api/v1/ssh-keys/{key_id}")

# Snapshots
LIST_SNAPSHOTS = route("GET", "/api/v1/snapshots")
CREATE_SNAPSHOT = route("POST", "/api/v1/snapshots")
GET_SNAPSHOT = route("GET", "/api/v1/snapshots/{snapshot_id}")
DELETE_SNAPSHOT = route("DELETE", "/api/v1/snapshots/{snapshot_id}")
RESTORE_SNAPSHOT = route("POST", "/api/v1/snapshots/{snapshot_id}/restore")

# Serverless mode and failover
SERVERLESS_ENABLE = route("POST", "/api/v1/serverless/enable")
SERVERLESS_DISABLE = route("POST", "/api/v1/serverless/disable")
SERVERLESS_STATUS = route("GET", "/api/v1/serverless/status/{instance_id}")
SERVERLESS_PAUSE = route("POST", "/api/v1/serverless/pause/{instance_id}")
SERVERLESS_RESUME = route("POST", "/api/v1/serverless/resume/{instance_id}")
FAILOVER_CONFIGURE = route("POST", "/api/v1/failover/configure")
FAILOVER_STATUS = route("GET", "/api/v1/failover/status/{instance_id}")
FAILOVER_TRIGGER = route("POST", "/api/v1/failover/trigger/{instance_id}")

# Money and the market
SAVINGS_DASHBOARD = route("GET", "/api/v1/savings/dashboard")
SAVINGS_SUMMARY = route("GET", "/api/v1/savings/summary")
SAVINGS_HISTORY = route("GET", "/api/v1/savings/history")
SAVINGS_BREAKDOWN = route("GET", "/api/v1/savings/breakdown")
SAVINGS_COMPARISON = route("GET", "/api/v1/savings/comparison/{gpu_type}")
BALANCE = route("GET", "/api/v1/balance")
BILLING_HISTORY = route("GET", "/api/v1/billing/history")
ADD_CREDITS = route("POST", "/api/v1/billing/add-credits")
GRANT_CREDITS = route("POST", "/api/v1/billing/grants")
BILLING_SETTINGS = route("PATCH", "/api/v1/billing/settings")
MARKET_PRICES = route("GET", "/api/v1/market/prices")
MARKET_HISTORY = route("GET", "/api/v1/market/history")
MARKET_PREDICTIONS = route("GET", "/api/v1/market/predictions")
MARKET_SUMMARY = route("GET", "/api/metrics/market")
PROVIDERS = route("GET", "/api/metrics/providers")
RECOMMEND_GPU = route("POST", "/api/ai/recommend-gpu")
LIST_OFFERS = route("GET", "/api/v1/offers")
OFFERS_OF_GPU = route("GET", "/api/v1/offers/{gpu}")

# Teams, roles, API keys, webhooks
LIST_TEAMS = route("GET", "/api/v1/teams")
CREATE_TEAM = route("POST", "/api/v1/teams")
GET_TEAM = route("GET", "/api/v1/teams/{team_id}")
LIST_MEMBERS = route("GET", "/api/v1/teams/{team_id}/members")
ADD_MEMBER = route("POST", "/api/v1/teams/{team_id}/members")
CHANGE_MEMBER = route("PATCH", "/api/v1/teams/{team_id}/members/{account_id}")
REMOVE_MEMBER = route("DELETE", "/api/v1/teams/{team_id}/members/{account_id}")
CHANGE_PLAN = route("PATCH", "/api/v1/teams/{team_id}/plan")
LIST_ROLES = route("GET", "/api/v1/roles")
CREATE_ROLE = route("POST", "/api/v1/roles")
LIST_API_KEYS = route("GET", "/api/v1/api-keys")
CREATE_API_KEY = route("POST", "/api/v1/api-keys")
REVOKE_API_KEY = route("DELETE", "/api/v1/api-keys/{key_id}")
LIST_WEBHOOKS = route("GET", "/api/v1/webhooks")
CREATE_WEBHOOK = route("POST", "/api/v1/webhooks")
GET_WEBHOOK = route("GET", "/api/v1/webhooks/{webhook_id}")
CHANGE_WEBHOOK = route("PATCH", "/api/v1/webhooks/{webhook_id}")
DELETE_WEBHOOK = route("DELETE", "/api/v1/webhooks/{webhook_id}")
TEST_WEBHOOK = route("POST", "/api/v1/webhooks/{webhook_id}/test")
LIST_DELIVERIES = route("GET", "/api/v1/webhooks/{webhook_id}/deliveries")
REDELIVER = route("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")


def instance_body(gpu_type: str | None, gpu: str | None, extra: dict[str, Any], **fields: Any) -> Json:
    """A create's body: seed 001's `gpu=` and seed 003's `gpu_type=` are the same field."""
    chosen = gpu_type or gpu
    if chosen is None:
        raise TypeError("create() needs gpu_type= (or gpu=), e.g. gpu_type='RTX 4090'")
    return {"gpu_type": chosen, **without_none(**fields), **extra}
