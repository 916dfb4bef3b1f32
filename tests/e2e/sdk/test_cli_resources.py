"""The `dumont` commands beyond the seed's, against the local stack: each answers clean JSON on stdout,
and its table without a traceback."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from tests.e2e.conftest import wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("cleanup_instances")]
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"


def dumont(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["dumont", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


@pytest.mark.parametrize(
    ("command", "key"),
    [
        (("market", "prices", "--gpu", "RTX4090"), "prices"),
        (("market", "predictions", "RTX4090"), "status"),
        (("offers", "RTX 4090", "--limit", "3"), "offers"),
        (("savings",), "total_saved_usd"),
        (("balance",), "balance"),
        (("webhooks", "list"), "webhooks"),
        (("snapshot", "list"), "snapshots"),
        (("config", "show"), "api_url"),
        (("market", "history", "RTX4090", "--period", "24h"), "points"),
        (("teams", "list"), "teams"),
        (("api-keys", "list"), "api_keys"),
        (("ssh-keys", "list"), "ssh_keys"),
        (("billing", "history"), "lines"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value,
)
def test_each_command_answers_json_and_a_table(
    user_env: dict[str, str], command: tuple[str, ...], key: str
) -> None:
    answered = json.loads(dumont(user_env, *command, "--output", "json").stdout)
    assert key in answered
    assert dumont(user_env, *command).stdout.strip()


def test_failover_and_webhooks_from_the_command_line(user_env: dict[str, str], api: httpx.Client) -> None:
    instance = json.loads(dumont(user_env, "create", "--gpu", "RTX4090", "--output", "json").stdout)
    wait_for_status(api, instance["id"], {"running"})
    configured = dumont(
        user_env, "failover", "configure", instance["id"], "--strategy", "snapshot", "-o", "json"
    )
    assert json.loads(configured.stdout)["enabled"] is True
    status = json.loads(dumont(user_env, "failover", "status", instance["id"], "-o", "json").stdout)
    assert status["strategy"] == "snapshot"
    serverless = dumont(
        user_env, "serverless", "enable", instance["id"], "--idle-timeout", "30", "-o", "json"
    )
    assert json.loads(serverless.stdout)["enabled"] is True
    serverless_status = dumont(user_env, "serverless", "status", instance["id"], "-o", "json")
    assert json.loads(serverless_status.stdout)["idle_timeout_minutes"] == 30
    added = dumont(user_env, "ssh-keys", "add", PUBLIC_KEY, "--instance", instance["id"], "-o", "json")
    key_id = json.loads(added.stdout)["id"]
    assert key_id in dumont(user_env, "ssh-keys", "list", "--instance", instance["id"], "-o", "json").stdout
    dumont(user_env, "ssh-keys", "remove", key_id, "--instance", instance["id"])
    assert (
        key_id not in dumont(user_env, "ssh-keys", "list", "--instance", instance["id"], "-o", "json").stdout
    )

    hook = json.loads(
        dumont(
            user_env,
            "webhooks",
            "create",
            "https://example.com/hook",
            "--event",
            "instance.created",
            "-o",
            "json",
        ).stdout
    )
    assert hook["secret"] and hook["events"] == ["instance.created"]
    assert hook["id"] in dumont(user_env, "webhooks", "list", "-o", "json").stdout
    dumont(user_env, "webhooks", "delete", hook["id"])
    assert hook["id"] not in dumont(user_env, "webhooks", "list", "-o", "json").stdout

    stopped = dumont(user_env, "stop", instance["id"], "--wait", "-o", "json")
    assert json.loads(stopped.stdout)["status"] == "stopped"
