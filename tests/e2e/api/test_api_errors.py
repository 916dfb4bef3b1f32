"""Bad requests get a 4xx with the error envelope and an actionable message, and write nothing."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from infra.topology import API_ROUTES
from local_stack.stack import LocalStack
from tests.e2e.conftest import wait_for_status

pytestmark = pytest.mark.e2e


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def all_instance_ids(api: httpx.Client) -> set[str]:
    """Every instance of the account, deleted ones included. Earlier tests' deletions finish in the
    background; listing the live ones before the deleted ones counts a moving instance at least once."""
    ids: set[str] = set()
    for params in ({"per_page": 100}, {"per_page": 100, "status": "deleted"}):
        ids |= {item["id"] for item in api.get("/api/v1/instances", params=params).json()["data"]}
    return ids


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gpu_type": "RTX 9999"}, "gpu_type"),
        ({"gpu_type": "RTX_4090", "disk_gb": -5}, "disk_gb"),
        ({"gpu_type": "RTX_4090", "disk_size": "lots"}, "disk_size"),
        ({"gpu_type": "RTX_4090", "region": "mars-north"}, "region"),
        ({"gpu_type": "RTX_4090", "failover_strategy": "pray"}, "failover_strategy"),
        ({"gpu_type": "RTX_4090", "ssh_key": "not a key"}, "ssh_key"),
        ({"gpu_type": "RTX_4090", "gpu_typo": 1}, "gpu_typo"),
        ({"region": "us-east"}, "gpu_type"),
    ],
)
def test_invalid_create_names_the_field_and_writes_nothing(api: httpx.Client, body: dict, field: str) -> None:
    before = all_instance_ids(api)
    error = assert_error(api.post("/api/v1/instances", json=body), 400, "VALIDATION_ERROR")
    assert field in [item["field"] for item in error["details"]["fields"]]
    assert field in error["message"]
    assert all_instance_ids(api) == before


def test_malformed_json_and_missing_body(api: httpx.Client) -> None:
    before = all_instance_ids(api)
    headers = {"Content-Type": "application/json"}
    error = assert_error(
        api.post("/api/v1/instances", content=b'{"gpu_type": ', headers=headers), 400, "VALIDATION_ERROR"
    )
    assert "JSON" in error["message"]
    assert_error(api.post("/api/v1/instances"), 400, "VALIDATION_ERROR")
    assert_error(api.post("/api/v1/instances", json=["RTX_4090"]), 400, "VALIDATION_ERROR")
    assert all_instance_ids(api) == before


def test_bad_query_parameters(api: httpx.Client) -> None:
    assert_error(api.get("/api/v1/instances", params={"per_page": 0}), 400, "VALIDATION_ERROR")
    assert_error(api.get("/api/v1/instances", params={"page": "two"}), 400, "VALIDATION_ERROR")
    assert_error(api.get("/api/v1/instances", params={"status": "sleeping"}), 400, "VALIDATION_ERROR")
    error = assert_error(api.get("/api/v1/instances", params={"gpu_type": "GTX 1"}), 400, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == "gpu_type"


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/start"),
        ("POST", "/stop"),
        ("POST", "/reboot"),
        ("GET", "/events"),
    ],
)
def test_unknown_instance_is_404(api: httpx.Client, method: str, suffix: str) -> None:
    response = api.request(method, f"/api/v1/instances/inst_doesnotexist{suffix}")
    error = assert_error(response, 404, "INSTANCE_NOT_FOUND")
    assert error["details"]["instance_id"] == "inst_doesnotexist"


def test_illegal_transitions_are_409_with_the_current_state(
    api: httpx.Client, stack: LocalStack, create_instance: Callable[..., str]
) -> None:
    instance_id = create_instance()
    wait_for_status(api, instance_id, {"running"})
    error = assert_error(api.post(f"/api/v1/instances/{instance_id}/start"), 409, "INVALID_STATE")
    assert error["details"]["current_state"] == "running"
    assert error["details"]["allowed_states"] == ["stopped"]

    assert api.delete(f"/api/v1/instances/{instance_id}").status_code == 202
    wait_for_status(api, instance_id, {"deleted"})
    for action in ("stop", "start", "reboot"):
        error = assert_error(api.post(f"/api/v1/instances/{instance_id}/{action}"), 409, "INVALID_STATE")
        assert error["details"]["current_state"] == "deleted"
    assert_error(api.delete(f"/api/v1/instances/{instance_id}"), 409, "INVALID_STATE")
    events = api.get(f"/api/v1/instances/{instance_id}/events").json()["data"]["events"]
    assert events[-1]["type"] == "instance.deleted", "refused actions leave no trace on the timeline"


def test_credentials_are_required(stack: LocalStack) -> None:
    with httpx.Client(base_url=stack.url) as anonymous:
        assert_error(anonymous.get("/api/v1/instances"), 401, "UNAUTHENTICATED")
        response = anonymous.get("/api/v1/instances", headers={"X-API-Key": "dumont_sk_wrong"})
        assert_error(response, 401, "UNAUTHENTICATED")
        assert anonymous.get("/health").status_code == 200


def test_unknown_route_and_method(api: httpx.Client) -> None:
    assert_error(api.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    assert_error(api.put("/api/v1/instances"), 405, "METHOD_NOT_ALLOWED")


def test_swagger_ui_and_openapi_document(api: httpx.Client) -> None:
    docs = api.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    document = api.get("/openapi.json").json()
    assert {
        "/api/v1/instances",
        "/api/v1/instances/{instance_id}",
        "/api/v1/instances/{instance_id}/events",
    } <= set(document["paths"])
    create = document["paths"]["/api/v1/instances"]["post"]
    assert {"201", "400"} <= set(create["responses"])
    schemas = document["components"]["schemas"]
    assert "gpu_type" in schemas["CreateInstanceRequest"]["properties"]
    assert all(
        "422" not in operation["responses"]
        for path in document["paths"].values()
        for operation in path.values()
    )


def test_the_openapi_document_tells_credentials_and_rate_limits(api: httpx.Client) -> None:
    document = api.get("/openapi.json").json()
    description = document["info"]["description"]
    for credential in ("Authorization: Bearer <access token>", "Bearer dumont_sk_", "X-API-Key: dumont_sk_"):
        assert credential in description
    metered = {(route.method, route.path) for route in API_ROUTES if route.metered}
    documented = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation.get("x-dumont-websocket"):
                continue  # live metrics: its answers are a WebSocket's, 101 and refusals
            responses = operation["responses"]
            success = next(code for code in responses if code.startswith("2"))
            if (method.upper(), path) not in metered:
                # Public and agent routes answer 429 only to people: failed logins, a person's key.
                if "429" in responses:
                    assert set(responses["429"]["headers"]) == {"Retry-After"}, (method, path)
                continue
            documented += 1
            assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
                responses[success]["headers"]
            ), (method, path)
            assert "Retry-After" in responses["429"]["headers"], (method, path)
            assert "403" in responses, (method, path)
    assert documented == len(metered)


def test_idempotent_create_retries_rent_one_machine(api: httpx.Client) -> None:
    body = {"gpu_type": "RTX_3090", "disk_gb": 40}
    headers = {"Idempotency-Key": "retry-me-1"}
    first = api.post("/api/v1/instances", json=body, headers=headers)
    second = api.post("/api/v1/instances", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["data"]["id"] == second.json()["data"]["id"]
    listed = api.get("/api/v1/instances", params={"gpu_type": "RTX_3090", "per_page": 100}).json()["data"]
    assert [item["id"] for item in listed].count(first.json()["data"]["id"]) == 1

    reused = api.post("/api/v1/instances", json={**body, "disk_gb": 41}, headers=headers)
    error = assert_error(reused, 409, "CONFLICT")
    assert "Idempotency-Key" in error["message"]
    too_long = {"Idempotency-Key": "k" * 256}
    assert_error(api.post("/api/v1/instances", json=body, headers=too_long), 400, "VALIDATION_ERROR")
    api.delete(f"/api/v1/instances/{first.json()['data']['id']}")


def test_the_unversioned_create_keeps_its_own_idempotency_keys(api: httpx.Client) -> None:
    body = {"gpu_type": "RTX_3090", "disk_gb": 40}
    headers = {"Idempotency-Key": "retry-me-unversioned"}
    first = api.post("/api/instances", json=body, headers=headers)
    second = api.post("/api/instances", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["instance_id"] == second.json()["instance_id"]
    # The same key on the versioned route is another request: keys are kept per route.
    versioned = api.post("/api/v1/instances", json=body, headers=headers)
    assert versioned.status_code == 201 and versioned.json()["data"]["id"] != first.json()["instance_id"]
    for instance_id in (first.json()["instance_id"], versioned.json()["data"]["id"]):
        api.delete(f"/api/v1/instances/{instance_id}")


def test_json_sent_with_curls_default_form_content_type_is_read_as_json(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/snapshots",
        content=b'{"instance_id": "inst_doesnotexist"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 404, "INSTANCE_NOT_FOUND")
    garbage = api.post(
        "/api/v1/snapshots",
        content=b"instance_id=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert garbage.status_code == 400
