"""The create-instance request: every documented spelling is accepted, every bad field is named."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from api.instances.schemas import CreateInstanceRequest
from dumont_core.instances.models import FailoverStrategy

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"


def rejected_fields(body: dict[str, Any]) -> dict[str, str]:
    """The fields a body is rejected for, as the user spelled them, with pydantic's error type."""
    with pytest.raises(ValidationError) as caught:
        CreateInstanceRequest.model_validate(body)
    return {".".join(str(part) for part in error["loc"]): error["type"] for error in caught.value.errors()}


def test_the_short_spellings_of_the_older_documents_are_accepted() -> None:
    body = CreateInstanceRequest.model_validate(
        {
            "gpu": "RTX 4090",
            "disk_size": 100,
            "region": "US-East",
            "auto_hibernate": True,
            "failover_strategy": "cpu_standby",
        }
    )

    spec = body.to_spec()
    assert spec.gpu_type == "RTX_4090"
    assert spec.disk_gb == 100
    assert spec.region == "us-east"
    assert spec.auto_hibernate is True
    assert spec.failover_strategy == FailoverStrategy.CPU_STANDBY
    assert spec.failover_enabled is True, "naming a failover strategy turns failover on"


def test_the_canonical_spellings_are_accepted() -> None:
    body = CreateInstanceRequest.model_validate(
        {
            "gpu_type": "A100 SXM4",
            "disk_gb": 200,
            "region": "eu_central",
            "num_gpus": 2,
            "name": "training-box",
            "image": "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime",
            "ssh_key": SSH_KEY,
            "failover_enabled": True,
        }
    )

    spec = body.to_spec()
    assert (spec.gpu_type, spec.disk_gb, spec.region, spec.num_gpus) == ("A100", 200, "eu-central", 2)
    assert spec.name == "training-box"
    assert spec.ssh_key == SSH_KEY
    assert spec.failover_enabled is True
    assert spec.failover_strategy == FailoverStrategy.SNAPSHOT, (
        "failover without a strategy restores snapshots"
    )


def test_only_the_gpu_is_required() -> None:
    spec = CreateInstanceRequest.model_validate({"gpu": "rtx_4090"}).to_spec()

    assert spec.gpu_type == "RTX_4090"
    assert spec.region is None
    assert spec.disk_gb == 50
    assert spec.num_gpus == 1
    assert spec.failover_enabled is False and spec.failover_strategy is None
    assert spec.auto_hibernate is False


def test_a_missing_gpu_is_named() -> None:
    assert rejected_fields({"disk_gb": 100}) == {"gpu_type": "missing"}


def test_an_unknown_gpu_is_named_with_the_choices() -> None:
    with pytest.raises(ValidationError) as caught:
        CreateInstanceRequest.model_validate({"gpu": "RTX 9090"})

    (error,) = caught.value.errors()
    assert error["loc"] == ("gpu",)
    assert "RTX 9090" in error["msg"]
    assert "RTX_4090" in error["msg"], "the message lists what can be rented"


@pytest.mark.parametrize(("spelling", "disk"), [("disk_size", -20), ("disk_gb", 0), ("disk_size", 9)])
def test_a_negative_or_too_small_disk_is_named(spelling: str, disk: int) -> None:
    assert rejected_fields({"gpu": "RTX 4090", spelling: disk}) == {spelling: "greater_than_equal"}


def test_a_huge_disk_is_named() -> None:
    assert rejected_fields({"gpu": "RTX 4090", "disk_gb": 100_000}) == {"disk_gb": "less_than_equal"}


def test_an_unknown_region_is_named_with_the_choices() -> None:
    with pytest.raises(ValidationError) as caught:
        CreateInstanceRequest.model_validate({"gpu": "RTX 4090", "region": "mars-north"})

    (error,) = caught.value.errors()
    assert error["loc"] == ("region",)
    assert "mars-north" in error["msg"] and "us-east" in error["msg"]


@pytest.mark.parametrize(
    "ssh_key",
    [
        "not a key",
        "ssh-ed25519",
        "ssh-rsa AAAA'; rm -rf / #",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "ssh-ed25519 AAAA\nssh-rsa BBBB",
    ],
)
def test_a_bad_ssh_key_is_named(ssh_key: str) -> None:
    assert rejected_fields({"gpu": "RTX 4090", "ssh_key": ssh_key}) == {"ssh_key": "string_pattern_mismatch"}


def test_unknown_fields_are_named() -> None:
    assert rejected_fields({"gpu": "RTX 4090", "gpu_count": 2, "zone": "a"}) == {
        "gpu_count": "extra_forbidden",
        "zone": "extra_forbidden",
    }


def test_an_unknown_failover_strategy_is_named() -> None:
    assert rejected_fields({"gpu": "RTX 4090", "failover_strategy": "pray"}) == {"failover_strategy": "enum"}


def test_every_bad_field_is_named_at_once() -> None:
    fields = rejected_fields(
        {"gpu": "RTX 9090", "disk_size": -1, "region": "nowhere", "ssh_key": "nope", "color": "red"}
    )

    assert set(fields) == {"gpu", "disk_size", "region", "ssh_key", "color"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("num_gpus", 0), ("num_gpus", 9), ("name", ""), ("image", "bad image; rm -rf /")],
)
def test_other_out_of_range_values_are_named(field: str, value: Any) -> None:
    assert set(rejected_fields({"gpu": "RTX 4090", field: value})) == {field}


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("disk_gb", "100", "int_type"),
        ("disk_size", 100.0, "int_type"),
        ("num_gpus", True, "int_type"),
        ("auto_hibernate", 0, "bool_type"),
        ("failover_enabled", "true", "bool_type"),
        ("name", 7, "string_type"),
    ],
)
def test_a_value_of_another_type_is_refused_not_converted(field: str, value: Any, expected: str) -> None:
    assert rejected_fields({"gpu_type": "RTX_4090", field: value}) == {field: expected}
