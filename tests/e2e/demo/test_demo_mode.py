"""Demo mode (seeds 002 and 003): `?demo=true` on the instance routes that list, read and create, with or
without credentials, answers fictitious machines in the documented shapes; nothing is rented, nothing is
written to anyone's team."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.e2e.conftest import eventually, machines_for

pytestmark = pytest.mark.e2e

SEED_GPUS = {"RTX 4090", "A100", "RTX 3090"}


@pytest.fixture
def anonymous(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


def test_the_machines_list_without_credentials_is_the_seed_fleet(anonymous: httpx.Client) -> None:
    listed = anonymous.get("/api/machines", params={"demo": "true"})

    assert listed.status_code == 200, listed.text
    machines = listed.json()["machines"]
    assert {machine["gpu_name"] for machine in machines} == SEED_GPUS
    assert {machine["status"] for machine in machines} == {"running", "hibernating"}
    assert {"id", "name", "gpu_name", "status", "cost_per_hour", "region"} <= set(machines[0])
    assert machines[0]["region"] == "US-East"
    assert int(listed.headers["X-RateLimit-Remaining"]) < int(listed.headers["X-RateLimit-Limit"])
    assert anonymous.get("/api/machines", params={"demo": "true"}).json() == listed.json(), "consistent"


def test_the_v1_list_and_detail_show_the_same_fleet(anonymous: httpx.Client) -> None:
    listed = anonymous.get("/api/v1/instances", params={"demo": "true", "status": "running"})

    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["meta"]["total"] == 2 and {each["gpu_type"] for each in body["data"]} == {
        "RTX_4090",
        "RTX_3090",
    }
    first = body["data"][0]
    detail = anonymous.get(f"/api/v1/instances/{first['id']}", params={"demo": "true"})
    assert detail.status_code == 200, detail.text
    shown = detail.json()["data"]
    assert (shown["id"], shown["status"], shown["ip_address"]) == (
        first["id"],
        "running",
        first["ip_address"],
    )
    assert shown["ssh_command"] == f"ssh -p 22 root@{first['ip_address']}"


def test_a_demo_create_answers_like_a_real_one_and_boots_without_renting_anything(
    anonymous: httpx.Client, api: httpx.Client, stack: LocalStack
) -> None:
    created = anonymous.post(
        "/api/instances", params={"demo": "true"}, json={"gpu_type": "RTX 4090", "region": "US-East"}
    )

    assert created.status_code == 201, created.text
    answer = created.json()
    assert (answer["status"], answer["gpu_name"], answer["ip"]) == ("creating", "RTX 4090", None)
    demo_id = answer["id"]

    def status() -> str:
        shown = anonymous.get(f"/api/v1/instances/{demo_id}", params={"demo": "true"})
        assert shown.status_code == 200, shown.text
        return str(shown.json()["data"]["status"])

    assert status() == "starting"
    assert eventually(lambda: status() == "running"), "a demo instance boots as a real one does"
    legacy = anonymous.get(f"/api/instances/{demo_id}", params={"demo": "true"}).json()
    assert (legacy["gpu_type"], legacy["region"]) == ("RTX_4090", "us-east")
    # Nothing rented, nothing in the team of whoever made the request or anyone's.
    assert machines_for(stack, demo_id) == []
    assert api.get(f"/api/v1/instances/{demo_id}").status_code == 404
    assert demo_id not in {each["id"] for each in api.get("/api/v1/instances").json()["data"]}


def test_with_credentials_demo_is_still_demo_data(api: httpx.Client, anonymous: httpx.Client) -> None:
    with_credentials = api.get("/api/machines", params={"demo": "true"})
    assert with_credentials.status_code == 200, with_credentials.text
    assert with_credentials.json() == anonymous.get("/api/machines", params={"demo": "true"}).json()

    created = api.post("/api/v1/instances", params={"demo": "true"}, json={"gpu_type": "A100"})
    assert created.status_code == 201, created.text
    assert created.json()["data"]["status"] == "starting"
    assert api.get(f"/api/v1/instances/{created.json()['data']['id']}").status_code == 404


def test_demo_mode_reaches_no_other_route_and_refuses_bad_input_as_real_routes_do(
    anonymous: httpx.Client,
) -> None:
    fleet_id = anonymous.get("/api/machines", params={"demo": "true"}).json()["machines"][0]["id"]

    deleted = anonymous.delete(f"/api/instances/{fleet_id}", params={"demo": "true"})
    assert deleted.status_code == 401, deleted.text
    assert "demo" in deleted.json()["error"]["message"].lower()
    assert anonymous.get("/api/v1/snapshots", params={"demo": "true"}).status_code == 401
    assert anonymous.get("/api/machines").status_code == 401, "credentials are needed without demo=true"

    bad = anonymous.post("/api/v1/instances", params={"demo": "true"}, json={"gpu_type": "GTX 280"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "VALIDATION_ERROR"
    unknown = anonymous.get("/api/v1/instances/demo_nothing", params={"demo": "true"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "INSTANCE_NOT_FOUND"
