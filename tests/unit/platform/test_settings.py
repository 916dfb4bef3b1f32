"""Each function checks its settings at cold start, and says which variable is wrong."""

from __future__ import annotations

import pytest

from dumont_core.platform.settings import (
    ApiSettings,
    HousekeepingSettings,
    ReconcilerSettings,
    SettingsError,
    TableSettings,
    WorkflowSettings,
    load_settings,
    settings_from,
)
from tests.unit.platform.conftest import API_ENVIRONMENT, ARNS


def test_a_missing_variable_is_named_with_what_it_is_for() -> None:
    environment = {key: value for key, value in API_ENVIRONMENT.items() if key != "SNAPSHOT_BUCKET"}

    with pytest.raises(SettingsError) as refused:
        settings_from(ApiSettings, environment)

    assert str(refused.value) == (
        "ApiSettings: SNAPSHOT_BUCKET is not set (The bucket of workspace snapshots: chunks, manifests)"
    )


def test_a_malformed_variable_is_named_and_no_value_is_echoed() -> None:
    environment = {**API_ENVIRONMENT, "BOOT_POLL_SECONDS": "soon", "USAGE_PLAN_IDS": "{not json"}

    with pytest.raises(SettingsError) as refused:
        settings_from(ApiSettings, environment)

    message = str(refused.value)
    assert "BOOT_POLL_SECONDS is invalid" in message and "USAGE_PLAN_IDS is invalid" in message
    assert "secret:signing" not in message, "the environment's values stay out of the message"


def test_every_function_checks_only_what_it_uses() -> None:
    housekeeping = {key: value for key, value in API_ENVIRONMENT.items() if key != "JWT_SECRET_ARN"}

    assert settings_from(HousekeepingSettings, housekeeping).snapshot_bucket == "dumont-snapshots"
    with pytest.raises(SettingsError, match="JWT_SECRET_ARN is not set"):
        settings_from(ApiSettings, housekeeping)


@pytest.mark.parametrize("prefix", ["", "Dumont", "dumont:prod", "dumont prod", "x" * 33])
def test_a_machine_label_prefix_that_could_not_tell_our_machines_apart_is_refused(prefix: str) -> None:
    environment = {"TABLE_NAME": "dumont", "MACHINE_LABEL_PREFIX": prefix, **ARNS}

    with pytest.raises(SettingsError, match="MACHINE_LABEL_PREFIX is invalid"):
        settings_from(ReconcilerSettings, environment)
    reconciler = settings_from(ReconcilerSettings, {"TABLE_NAME": "dumont", **ARNS})
    assert reconciler.machine_label_prefix == "dumont"


@pytest.mark.usefixtures("api_environment")
def test_a_group_of_settings_is_the_functions_own_settings_once_loaded() -> None:
    api = load_settings(ApiSettings)
    assert load_settings(TableSettings) is api
    assert load_settings(WorkflowSettings) is api
    assert api.usage_plan_ids == {} and api.boot_poll_seconds == 10
