"""Every system role against every route that needs a permission, through the API function as API Gateway
invokes it: the routes come from the OpenAPI document the routes make, the roles from the rules' own
table, and what each role may do is written out here, apart from both, as the README promises it."""

from __future__ import annotations

from typing import Any

import pytest

from api import openapi
from api.routing import CALLER_EXTENSION, PERMISSION_EXTENSION, WEBSOCKET_EXTENSION
from dumont_core.access.permissions import SYSTEM_ROLES, permissions_of
from dumont_core.platform.identity import Principal
from tests.fakes.api_gateway import answer_body, rest_event
from tests.integration.conftest import ApiFunction

TEAM = "team_00000000000000aa"
ACCOUNT = "acct_00000000000000aa"

READ = {"instances.view", "snapshots.view", "billing.view", "team.view", "webhooks.view"}
WORK = {
    "instances.create",
    "instances.operate",
    "instances.delete",
    "snapshots.manage",
    "billing.manage",
    "webhooks.manage",
    "api_keys.manage",
}
TEAM_CHANGES = {"team.manage", "teams.create"}
MAY: dict[str, set[str]] = {
    "admin": READ | WORK | TEAM_CHANGES,
    "developer": READ | WORK,
    "viewer": READ,
}
"""What each system role may do: everything; all but changing the team; reading only."""

NO_ROLE_MAY = {"agent.report", "credits.grant"}
"""An instance's agent's, and the deployment's operators': no team role holds either."""

PATH_VALUES = {
    "instance_id": "inst_00000000000000aa",
    "snapshot_id": "snap_00000000000000aa",
    "webhook_id": "wh_00000000000000aa",
    "delivery_id": "dlv_00000000000000aa",
    "key_id": "key_00000000000000aa",
    "team_id": TEAM,  # the caller's own team: the route's permission is checked against the caller's role
    "account_id": "acct_00000000000000bb",
    "action_id": "act_00000000000000aa",
    "gpu_type": "RTX_4090",
    "gpu_name": "RTX_4090",
    "gpu": "RTX_4090",
}

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"
INSTANCE = {"instance_id": PATH_VALUES["instance_id"]}
WEBHOOK = {"url": "https://93.184.216.34/hook", "events": ["instance.ready"]}
BODIES: dict[str, Any] = {
    "/api/v1/instances/{instance_id}/ssh-keys": {"public_key": SSH_KEY},
    "/api/v1/ssh-keys": {"public_key": SSH_KEY},
    "/api/v1/teams/{team_id}/plan": {"plan": "pro"},
    "/api/agent/actions/{action_id}": {"status": "completed"},
    "/api/agent/snapshots/{snapshot_id}/uploads": {"chunks": []},
    "/api/agent/logs": {"lines": []},
    "/api/v1/teams/{team_id}/members": {"email": "dev@example.com", "role": "developer"},
    "/api/v1/teams/{team_id}/members/{account_id}": {"role": "viewer"},
    "/api/v1/instances": {"gpu_type": "RTX_4090"},
    "/api/instances": {"gpu_type": "RTX_4090"},
    "/api/v1/snapshots": INSTANCE,
    "/api/snapshots": INSTANCE,
    "/api/v1/serverless/enable": INSTANCE,
    "/api/v1/serverless/disable": INSTANCE,
    "/api/v1/failover/configure": {**INSTANCE, "enabled": False},
    "/api/v1/webhooks": WEBHOOK,
    "/api/webhooks": WEBHOOK,
    "/api/v1/billing/add-credits": {"amount": 10},
    "/api/v1/billing/grants": {"amount": 10, "team_id": TEAM},
    "/api/v1/billing/settings": {"low_balance_threshold": 25},
    "/api/ai/recommend-gpu": {"task": "fine-tune a 7B model"},
    "/api/v1/api-keys": {"name": "ci"},
    "/api/v1/teams": {"name": "research"},
    "/api/v1/roles": {"name": "operator", "permissions": ["instances.view"]},
}
"""A valid body for each route that reads one: the request is refused for who calls, not what it says."""

DOCUMENT = openapi.document()
GATED = [
    (method.upper(), path, operation[PERMISSION_EXTENSION])
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
    # Live metrics are the WebSocket API's, which checks the same permission (tests/unit/live).
    if operation.get(PERMISSION_EXTENSION) and not operation.get(WEBSOCKET_EXTENSION)
]


NO_CREDENTIAL = "Send an access token or API key"


def caller(role: str) -> Principal:
    return Principal(
        account_id=ACCOUNT, team_id=TEAM, role=role, plan="pro", permissions=permissions_of(role, None)
    )


def call(api_function: ApiFunction, method: str, path: str, role: str) -> dict[str, Any]:
    body = BODIES.get(path, {}) if method in ("POST", "PUT", "PATCH") else None
    return api_function(rest_event(method, path, PATH_VALUES, principal=caller(role), body=body))


def test_the_table_covers_every_gated_route_and_every_system_role() -> None:
    assert len(GATED) > 80
    assert set(SYSTEM_ROLES) == set(MAY)
    assert {permission for _, _, permission in GATED} <= set().union(*MAY.values()) | NO_ROLE_MAY


@pytest.mark.parametrize("role", sorted(MAY))
@pytest.mark.parametrize(("method", "path", "permission"), GATED, ids=lambda value: str(value))
def test_a_role_is_let_through_exactly_where_it_may_go(
    api_function: ApiFunction, method: str, path: str, permission: str, role: str
) -> None:
    answer = call(api_function, method, path, role)
    body: Any = answer_body(answer)
    if permission in MAY[role]:
        # Let through, the route answers for itself (here mostly 404 or 401: nothing of these ids exists).
        assert answer["statusCode"] != 403, f"{role} may {permission}: {body}"
        assert NO_CREDENTIAL not in answer["body"], body
    else:
        assert answer["statusCode"] == 403, body
        assert body["success"] is False
        assert body["error"]["code"] == "FORBIDDEN"
        assert body["error"]["details"]["permission"] == permission
        assert permission in body["error"]["message"]


@pytest.mark.parametrize(("method", "path", "permission"), GATED[:3], ids=lambda value: str(value))
def test_no_credential_is_401_on_a_gated_route(
    api_function: ApiFunction, method: str, path: str, permission: str
) -> None:
    answer = api_function(rest_event(method, path, PATH_VALUES))
    assert answer["statusCode"] == 401, answer["body"]
    assert answer_body(answer)["error"]["code"] == "UNAUTHENTICATED"


TEAM_ROUTES = {
    ("POST", "/api/v1/teams"): "teams.create",
    ("POST", "/api/v1/roles"): "team.manage",
    ("POST", "/api/v1/teams/{team_id}/members"): "team.manage",
    ("PATCH", "/api/v1/teams/{team_id}/members/{account_id}"): "team.manage",
    ("DELETE", "/api/v1/teams/{team_id}/members/{account_id}"): "team.manage",
}


def test_the_routes_that_change_a_team_need_the_permissions_to_change_it() -> None:
    declared = {(method, path): permission for method, path, permission in GATED}
    assert {route: declared[route] for route in TEAM_ROUTES} == TEAM_ROUTES


@pytest.mark.parametrize(("method", "path", "permission"), GATED, ids=lambda value: str(value))
def test_a_route_that_changes_something_never_needs_only_a_permission_to_read(
    method: str, path: str, permission: str
) -> None:
    if DOCUMENT["paths"][path][method.lower()][CALLER_EXTENSION] == "agent":
        assert permission in ("agent.report", "instances.view")
    elif method == "GET":
        assert permission in READ or permission == "api_keys.manage", "reading needs no right to change"
    else:
        assert permission not in READ, f"{method} {path} changes something"
