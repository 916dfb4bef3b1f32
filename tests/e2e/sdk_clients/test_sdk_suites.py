"""Each SDK's own test suite, run as its developers run it, against the local stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.sdk_clients.conftest import GO_SDK, run, tool

pytestmark = pytest.mark.e2e


def test_the_javascript_sdks_suite_passes_against_the_stack(js_sdk: Path, client_env: dict[str, str]) -> None:
    done = run([tool("node"), "--test", "test/"], js_sdk, client_env)
    assert "# fail 0" in done.stdout and "# SKIP" not in done.stdout, done.stdout
    live = "ok 1 - an instance is created from camelCase inputs, runs, is listed and is destroyed"
    assert live in done.stdout, done.stdout


def test_the_go_sdks_suite_passes_against_the_stack(client_env: dict[str, str]) -> None:
    go = tool("go")
    run([go, "vet", "./..."], GO_SDK, client_env)
    # -count=1: the stack's address may be the one of a run Go cached, and the suite must run again.
    done = run([go, "test", "-count=1", "-v", "./..."], GO_SDK, client_env)
    assert "--- SKIP" not in done.stdout, done.stdout
    assert "--- PASS: TestLiveAnInstanceIsCreatedRunsIsListedAndIsDestroyed" in done.stdout, done.stdout
