"""A request field of the wrong JSON type is refused with its name and the type expected, never
converted: `"100"` is not a disk size and `0` is not `false`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("path", "body", "field", "expected"),
    [
        ("/api/v1/instances", {"gpu_type": "RTX_4090", "disk_gb": "100"}, "disk_gb", "integer"),
        ("/api/v1/instances", {"gpu_type": "RTX_4090", "auto_hibernate": 0}, "auto_hibernate", "boolean"),
        ("/api/instances", {"gpu_type": "RTX_4090", "disk_size": "100"}, "disk_size", "integer"),
        (
            "/api/v1/serverless/enable",
            {"instance_id": "inst_0000000000000000", "idle_timeout_minutes": "15"},
            "idle_timeout_minutes",
            "number",
        ),
        ("/api/v1/api-keys", {"name": 5}, "name", "string"),
    ],
)
def test_a_field_of_the_wrong_type_is_named_with_the_type_expected(
    api: httpx.Client, path: str, body: dict[str, Any], field: str, expected: str
) -> None:
    response = api.post(path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    [named] = [item for item in error["details"]["fields"] if item["field"] == field]
    assert expected in named["message"]


def test_the_documented_types_are_still_accepted(api: httpx.Client) -> None:
    created = api.post(
        "/api/v1/instances",
        json={"gpu": "RTX 4090", "disk_size": 100, "auto_hibernate": True, "failover_strategy": "warmpool"},
    )
    assert created.status_code == 201, created.text
    assert api.delete(f"/api/v1/instances/{created.json()['data']['id']}").status_code in (200, 202)
