"""Teams, members and roles over HTTP: every route checks a permission, and tenants never see each other."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api import openapi
from api.routing import PERMISSION_EXTENSION
from dumont_core.access.permissions import OPERATOR_PERMISSION
from infra.topology import API_ROUTES, Route
from local_stack.stack import LocalStack
from tests.e2e.access.conftest import PASSWORD, add_member, current_team, login, new_member, register
from tests.e2e.conftest import wait_for_status

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def instance_id(api: httpx.Client) -> Iterator[str]:
    response = api.post("/api/v1/instances", json={"gpu_type": "RTX_4090"})
    assert response.status_code == 201, response.text
    created = str(response.json()["data"]["id"])
    yield created
    wait_for_status(api, created, {"running", "failed"})
    api.delete(f"/api/v1/instances/{created}")


@pytest.fixture(scope="module")
def team_resources(api: httpx.Client, stack: LocalStack, instance_id: str) -> Iterator[dict[str, str]]:
    """Real ids of the bootstrap team's resources, for every path parameter a route can have."""
    team_id = current_team(api)
    key_id = api.get("/api/v1/api-keys").json()["data"][0]["id"]
    assert wait_for_status(api, instance_id, {"running", "failed"})["status"] == "running"
    snapshot = api.post("/api/v1/snapshots", json={"instance_id": instance_id, "name": "isolation"})
    assert snapshot.status_code == 202, snapshot.text
    bystander = add_member(api, team_id, register(stack), "viewer")
    webhook = api.post("/api/v1/webhooks", json={"url": "http://localhost:9/hook", "events": ["*"]})
    assert webhook.status_code == 201, webhook.text
    webhook_id = webhook.json()["data"]["id"]
    ping = api.post(f"/api/v1/webhooks/{webhook_id}/test")
    assert ping.status_code == 202, ping.text
    yield {
        "instance_id": instance_id,
        "team_id": team_id,
        "key_id": key_id,
        "account_id": bystander,
        "action_id": "act_0000000000000",
        "gpu_type": "RTX_4090",
        "snapshot_id": snapshot.json()["data"]["id"],
        "webhook_id": webhook_id,
        "delivery_id": ping.json()["data"]["id"],
    }
    api.delete(f"/api/v1/webhooks/{webhook_id}")


PROBE_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWNXuP6uPYQadPK5qqvzn5+3LzQRqpDMwyPnua0R2Tn probe"


def valid_body(route: Route) -> dict[str, Any] | None:
    """A body the route would accept, so a refusal is about who calls, not what they sent."""
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/api/v1/api-keys"): {"name": "probe"},
        ("POST", "/api/v1/teams"): {"name": "probe"},
        ("POST", "/api/v1/teams/{team_id}/members"): {"email": "nobody@example.com", "role": "viewer"},
        ("PATCH", "/api/v1/teams/{team_id}/members/{account_id}"): {"role": "developer"},
        ("POST", "/api/v1/roles"): {"name": "probe", "permissions": ["instances.view"]},
        ("POST", "/api/v1/instances"): {"gpu_type": "RTX_4090"},
        ("POST", "/api/instances"): {"gpu_type": "RTX_4090"},
        ("POST", "/api/v1/instances/{instance_id}/ssh-keys"): {"public_key": PROBE_KEY},
        ("POST", "/api/v1/ssh-keys"): {"public_key": PROBE_KEY},
        ("PATCH", "/api/v1/teams/{team_id}/plan"): {"plan": "pro"},
        ("POST", "/api/agent/status"): {"gpu_utilization": 10},
        ("POST", "/api/agent/actions/{action_id}"): {"status": "running"},
        ("POST", "/api/agent/snapshots/{snapshot_id}/uploads"): {"chunks": []},
        ("POST", "/api/agent/logs"): {"lines": []},
        ("POST", "/api/v1/snapshots"): {"instance_id": "inst_0000000000000000"},
        ("POST", "/api/snapshots"): {"instance_id": "inst_0000000000000000"},
        ("POST", "/api/v1/snapshots/{snapshot_id}/restore"): {"instance_id": "inst_0000000000000000"},
        ("POST", "/api/v1/serverless/enable"): {"instance_id": "inst_0000000000000000"},
        ("POST", "/api/v1/serverless/disable"): {"instance_id": "inst_0000000000000000"},
        ("POST", "/api/v1/failover/configure"): {"instance_id": "inst_0000000000000000", "enabled": True},
        ("POST", "/api/v1/webhooks"): {"url": "http://localhost:9/hook", "events": ["*"]},
        ("POST", "/api/webhooks"): {"url": "http://localhost:9/hook", "events": ["*"]},
        ("PATCH", "/api/v1/webhooks/{webhook_id}"): {"enabled": True},
        ("POST", "/api/v1/billing/add-credits"): {"amount": 5},
        ("POST", "/api/v1/billing/grants"): {"team_id": "team_0000000000000000", "amount": 5},
        ("PATCH", "/api/v1/billing/settings"): {"low_balance_threshold": 25},
        ("POST", "/api/ai/recommend-gpu"): {"task": "fine-tune llama2-7b"},
    }
    return bodies.get((route.method, route.path))


GPU_PARAMETERS = {"gpu": "RTX_4090", "gpu_name": "RTX_4090"}
"""Path parameters that name a GPU type, which is no tenant's resource."""
QUERIES = {
    "/api/v1/market/history": {"gpu_type": "RTX_4090"},
    "/api/v1/market/predictions": {"gpu_type": "RTX_4090"},
}
"""Query parameters a route requires, so a refusal is about who calls."""


def call(client: httpx.Client, route: Route, ids: dict[str, str]) -> httpx.Response:
    values = {**GPU_PARAMETERS, **ids}
    path = re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], route.path)
    return client.request(route.method, path, json=valid_body(route), params=QUERIES.get(route.path))


PROTECTED = [route for route in API_ROUTES if not route.public]
WRITES = [route for route in PROTECTED if route.method != "GET"]
WEBHOOK_ROUTES = [route for route in PROTECTED if "/webhooks" in route.path]
# Agent routes take only an instance's agent token, which no tenant holds; agents are kept to their
# own instance in tests/e2e/agents/test_agent.py. A GPU type in a path (savings' comparison, the market)
# names no resource of a team. An operator's route is refused to every other caller before any team is
# looked at (403 naming the permission), so it tells a stranger nothing either.
OPERATOR_ROUTES = {
    (method.upper(), path)
    for path, operations in openapi.document()["paths"].items()
    for method, operation in operations.items()
    if operation.get(PERMISSION_EXTENSION) == OPERATOR_PERMISSION
}
WITH_IDS = [
    route
    for route in PROTECTED
    if set(re.findall(r"\{(\w+)\}", route.path)) - set(GPU_PARAMETERS) - {"gpu_type"}
    and not route.path.startswith("/api/agent/")
    and (route.method, route.path) not in OPERATOR_ROUTES
]


def route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


def answer(client: httpx.Client, route: Route, ids: dict[str, str], status: int) -> dict[str, Any]:
    """What `route` answers `client`, once checked that it answers with `status`."""
    response = call(client, route, ids)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_team_admin_adds_a_member_changes_their_role_and_removes_them(stack: LocalStack) -> None:
    owner_email = register(stack)
    member_email = register(stack)
    with login(stack, owner_email) as owner:
        teams = owner.get("/api/v1/teams").json()["data"]
        assert [(team["role"], team["current"], team["plan"]) for team in teams] == [("admin", True, "free")]
        team_id = teams[0]["id"]
        member_id = add_member(owner, team_id, member_email, "viewer")
        again = owner.post(f"/api/v1/teams/{team_id}/members", json={"email": member_email, "role": "viewer"})
        assert again.status_code == 409

        with login(stack, member_email, team_id) as member:
            assert member.get("/api/v1/instances").status_code == 200
            refused = member.post("/api/v1/instances", json={"gpu_type": "RTX_4090"})
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "FORBIDDEN"
            assert refused.json()["error"]["details"]["permission"] == "instances.create"
            team = member.get(f"/api/v1/teams/{team_id}").json()["data"]
            assert {(m["email"], m["role"]) for m in team["members"]} == {
                (owner_email, "admin"),
                (member_email, "viewer"),
            }

            promoted = owner.patch(f"/api/v1/teams/{team_id}/members/{member_id}", json={"role": "developer"})
            assert promoted.json()["data"]["role"] == "developer"
            key = member.post("/api/v1/api-keys", json={"name": "laptop"})
            assert key.status_code == 201, "the new role applies to a token issued before the change"
            member_key = key.json()["data"]["key"]
            assert member.get("/api/v1/instances", headers={"X-API-Key": member_key}).status_code == 200

            removed = owner.delete(f"/api/v1/teams/{team_id}/members/{member_id}")
            assert removed.status_code == 200
            assert member.get("/api/v1/instances").status_code == 401
            assert (
                member.get(
                    "/api/v1/instances", headers={"Authorization": "", "X-API-Key": member_key}
                ).status_code
                == 401
            )

        with login(stack, member_email) as on_their_own:
            assert [team["id"] for team in on_their_own.get("/api/v1/teams").json()["data"]] != [team_id]


def test_an_admin_manages_a_team_they_made_with_the_key_of_another(stack: LocalStack) -> None:
    """Seed 000's flow: `POST /api/v1/teams` with an API key, then members added to the new team with
    the same key; the role in the team of the path decides, not the key's own team."""
    owner_email, member_email, outsider_email = register(stack), register(stack), register(stack)
    with login(stack, owner_email) as owner:
        key = owner.post("/api/v1/api-keys", json={"name": "ci"}).json()["data"]["key"]
    with httpx.Client(base_url=stack.url, headers={"X-API-Key": key}, timeout=30) as by_key:
        created = by_key.post("/api/v1/teams", json={"name": "research"})
        assert created.status_code == 201, created.text
        research = created.json()["data"]["id"]

        added = by_key.post(
            f"/api/v1/teams/{research}/members", json={"email": member_email, "role": "viewer"}
        )
        assert added.status_code == 201, added.text
        member_id = added.json()["data"]["account_id"]
        promoted = by_key.patch(f"/api/v1/teams/{research}/members/{member_id}", json={"role": "developer"})
        assert promoted.status_code == 200 and promoted.json()["data"]["role"] == "developer"

    with login(stack, member_email) as member:
        refused = member.post(f"/api/v1/teams/{research}/members", json={"email": outsider_email})
        assert refused.status_code == 403, "a developer there may not manage it, admin of their own or not"
        assert refused.json()["error"]["details"] == {
            "permission": "team.manage",
            "role": "developer",
            "team_id": research,
        }
    with login(stack, outsider_email) as outsider:
        assert outsider.delete(f"/api/v1/teams/{research}/members/{member_id}").status_code == 404


def test_the_last_admin_stays_and_custom_roles_grant_exactly_their_permissions(stack: LocalStack) -> None:
    owner_email, member_email = register(stack), register(stack)
    with login(stack, owner_email) as owner:
        team_id = current_team(owner)
        me = owner.get(f"/api/v1/teams/{team_id}").json()["data"]["members"][0]["account_id"]
        last = owner.delete(f"/api/v1/teams/{team_id}/members/{me}")
        assert last.status_code == 409
        made = owner.post(
            "/api/v1/roles",
            json={"name": "operator", "permissions": ["instances.view", "instances.operate"]},
        )
        assert made.status_code == 201, made.text
        unknown = owner.post("/api/v1/roles", json={"name": "bad", "permissions": ["instances.explode"]})
        assert unknown.status_code == 400
        assert "instances.explode" in unknown.json()["error"]["message"]
        roles = {role["name"]: role for role in owner.get("/api/v1/roles").json()["data"]}
        assert set(roles) == {"admin", "developer", "viewer", "operator"}
        assert roles["operator"]["system"] is False
        missing = owner.post(
            f"/api/v1/teams/{team_id}/members", json={"email": member_email, "role": "pilot"}
        )
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "ROLE_NOT_FOUND"
        add_member(owner, team_id, member_email, "operator")
    with login(stack, member_email, team_id) as operator:
        assert operator.get("/api/v1/instances").status_code == 200
        assert operator.post("/api/v1/instances/inst_none/stop").status_code == 404
        assert operator.delete("/api/v1/instances/inst_none").status_code == 403


def test_logging_in_to_a_team_you_are_not_in_is_404(stack: LocalStack, api: httpx.Client) -> None:
    email = register(stack)
    with httpx.Client(base_url=stack.url) as anonymous:
        response = anonymous.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD, "team_id": current_team(api)}
        )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "TEAM_NOT_FOUND"


@pytest.fixture(scope="module")
def viewer(api: httpx.Client, stack: LocalStack, team_resources: dict[str, str]) -> Iterator[httpx.Client]:
    with new_member(stack, api, team_resources["team_id"], "viewer") as client:
        yield client


@pytest.mark.parametrize("route", WRITES, ids=route_id)
def test_a_viewer_is_refused_every_write(
    route: Route, viewer: httpx.Client, team_resources: dict[str, str], api: httpx.Client
) -> None:
    assert answer(viewer, route, team_resources, 403)["error"]["code"] == "FORBIDDEN"
    instance = api.get(f"/api/v1/instances/{team_resources['instance_id']}").json()["data"]
    assert instance["status"] not in {"deleting", "deleted", "stopping"}


def test_a_viewer_can_read(viewer: httpx.Client, team_resources: dict[str, str]) -> None:
    listed = viewer.get("/api/v1/instances").json()["data"]
    assert team_resources["instance_id"] in [instance["id"] for instance in listed]


@pytest.fixture(scope="module")
def webhooks_only(
    api: httpx.Client, stack: LocalStack, team_resources: dict[str, str]
) -> Iterator[httpx.Client]:
    """A member whose only permission is one that none of these routes needs."""
    name = f"hooks-{secrets.token_hex(3)}"
    made = api.post("/api/v1/roles", json={"name": name, "permissions": ["webhooks.manage"]})
    assert made.status_code == 201, made.text
    with new_member(stack, api, team_resources["team_id"], name) as client:
        yield client


@pytest.mark.parametrize("route", [r for r in PROTECTED if r not in WEBHOOK_ROUTES], ids=route_id)
def test_every_route_checks_a_permission(
    route: Route, webhooks_only: httpx.Client, team_resources: dict[str, str]
) -> None:
    assert answer(webhooks_only, route, team_resources, 403)["error"]["code"] == "FORBIDDEN"


@pytest.fixture(scope="module")
def keys_only(api: httpx.Client, stack: LocalStack, team_resources: dict[str, str]) -> Iterator[httpx.Client]:
    """A member whose only permission is one that no webhook route needs."""
    name = f"keys-{secrets.token_hex(3)}"
    made = api.post("/api/v1/roles", json={"name": name, "permissions": ["api_keys.manage"]})
    assert made.status_code == 201, made.text
    with new_member(stack, api, team_resources["team_id"], name) as client:
        yield client


@pytest.mark.parametrize("route", WEBHOOK_ROUTES, ids=route_id)
def test_every_webhook_route_checks_a_permission(
    route: Route, keys_only: httpx.Client, team_resources: dict[str, str]
) -> None:
    assert answer(keys_only, route, team_resources, 403)["error"]["code"] == "FORBIDDEN"


@pytest.fixture(scope="module")
def stranger(stack: LocalStack) -> Iterator[httpx.Client]:
    with login(stack, register(stack)) as client:
        yield client


@pytest.mark.parametrize("route", WITH_IDS, ids=route_id)
def test_another_tenant_gets_404_on_every_route_naming_my_resources(
    route: Route, stranger: httpx.Client, team_resources: dict[str, str], api: httpx.Client
) -> None:
    refused = answer(stranger, route, team_resources, 404)
    assert refused["error"]["code"].endswith("NOT_FOUND")
    assert "data" not in refused, "nothing of the resource is shown"
    assert api.get(f"/api/v1/instances/{team_resources['instance_id']}").status_code == 200


def test_another_tenant_lists_none_of_my_resources(
    stranger: httpx.Client, team_resources: dict[str, str]
) -> None:
    for path in (
        "/api/v1/instances",
        "/api/machines",
        "/api/v1/api-keys",
        "/api/v1/teams",
        "/api/v1/roles",
        "/api/v1/webhooks",
    ):
        response = stranger.get(path)
        assert response.status_code == 200, (path, response.text)
        for resource in team_resources.values():
            assert resource not in response.text, (path, resource)


def test_a_removed_member_s_token_stays_dead_when_they_are_added_again(stack: LocalStack) -> None:
    owner_email, member_email = register(stack), register(stack)
    with login(stack, owner_email) as owner:
        team_id = current_team(owner)
        member_id = add_member(owner, team_id, member_email, "developer")
        with login(stack, member_email, team_id) as before_removal:
            assert before_removal.get("/api/v1/instances").status_code == 200
            assert owner.delete(f"/api/v1/teams/{team_id}/members/{member_id}").status_code == 200
            add_member(owner, team_id, member_email, "developer")

            refused = before_removal.get("/api/v1/instances")
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "UNAUTHENTICATED"
        with login(stack, member_email, team_id) as after_re_add:
            assert after_re_add.get("/api/v1/instances").status_code == 200
