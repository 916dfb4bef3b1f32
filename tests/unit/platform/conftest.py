"""The API function's environment, as the platform tests set it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dumont_core import composition
from dumont_core.platform.settings import ApiSettings

ARNS = {
    f"{name}_STATE_MACHINE_ARN": f"arn:aws:states:us-east-1:123456789012:stateMachine:{name.title()}"
    for name in (
        "PROVISION",
        "START",
        "STOP",
        "REBOOT",
        "DESTROY",
        "SNAPSHOT",
        "RESTORE",
        "WAKE",
        "CPU_FAILOVER",
    )
} | {
    f"WARMPOOL_{name}_STATE_MACHINE_ARN": f"arn:aws:states:us-east-1:123456789012:stateMachine:Warmpool{name}"
    for name in ("STANDBY", "FAILOVER")
}
API_ENVIRONMENT = {
    "TABLE_NAME": "DumontCloud-Table",
    "SNAPSHOT_BUCKET": "dumont-snapshots",
    "JWT_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:signing-AbCdEf",
    "WEBHOOK_DELIVERY_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/webhook-deliveries",
    **ARNS,
}


@pytest.fixture
def api_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Exactly the API function's required variables, whatever the shell has set, read afresh."""
    for field in ApiSettings.model_fields.values():
        monkeypatch.delenv(str(field.alias), raising=False)
    for name, value in {**API_ENVIRONMENT, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    composition.reset()
    yield
    composition.reset()
