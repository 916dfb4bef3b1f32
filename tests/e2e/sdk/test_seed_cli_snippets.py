"""Every `dumont` command of seed 003, run unmodified by bash against the local stack.

The scripts are the seed's code blocks character for character (seed_snippets/), with DUMONT_API_KEY
and DUMONT_API_URL set and the `dumont` that `make install` put beside this interpreter on the PATH. The
jq pipelines go through the real `jq`, which `make test` installs when it is missing.
Placeholders (INSTANCE_ID, SNAPSHOT_ID) are run as written, and must fail as the exit codes document;
then run again with only the placeholder replaced by an object of the test's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.conftest import wait_for_agent, wait_for_snapshot, wait_for_status
from tests.e2e.sdk.conftest import snippet

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("cleanup_instances")]
JQ = shutil.which("jq")


@pytest.fixture(autouse=True)
def _jq_is_installed() -> None:
    assert JQ, "the documented pipelines need jq: `make test` installs it (Debian's jq)"


TRACEBACK = "Traceback (most recent call last)"


def bash(script: str, env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", *options, "-c", script], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert TRACEBACK not in done.stderr, done.stderr
    return done


def dumont(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["dumont", *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def created_id(stderr: str) -> str:
    return next(
        word for line in stderr.splitlines() if line.startswith("Created ") for word in [line.split()[1]]
    )


def test_config_set_key_then_show_never_prints_the_whole_key(
    user_env: dict[str, str], tmp_path: Path
) -> None:
    done = bash(snippet("seed_003_cli_config.sh"), user_env, "-e")
    assert done.returncode == 0, done.stderr
    config_file = Path(user_env["XDG_CONFIG_HOME"]) / "dumont" / "config.json"
    assert json.loads(config_file.read_text()) == {"api_key": "dumont_sk_..."}
    assert config_file.stat().st_mode & 0o777 == 0o600
    # The environment overrides the file, and neither key is ever printed whole.
    assert "environment (DUMONT_API_KEY)" in done.stdout
    assert user_env["DUMONT_API_KEY"] not in done.stdout + done.stderr
    without_variable = {k: v for k, v in user_env.items() if k != "DUMONT_API_KEY"}
    dumont(without_variable, "config", "set-key", user_env["DUMONT_API_KEY"])
    shown = dumont(without_variable, "config", "show", "--output", "json")
    assert json.loads(shown.stdout)["api_key_source"] == str(config_file)
    assert user_env["DUMONT_API_KEY"] not in shown.stdout
    assert dumont(without_variable, "list").returncode == 0  # the key from the file works


def test_basic_commands_as_written_then_on_a_real_instance(
    user_env: dict[str, str], api: httpx.Client
) -> None:
    as_written = bash(snippet("seed_003_cli_basic.sh"), user_env)
    instance_id = created_id(as_written.stderr)
    assert as_written.stderr.count("INSTANCE_NOT_FOUND") == 4  # show, hibernate, wake, delete
    assert as_written.returncode == 4  # the last command's: not found
    wait_for_status(api, instance_id, {"running"})
    wait_for_agent(api, instance_id)

    on_ours = bash(snippet("seed_003_cli_basic.sh").replace("INSTANCE_ID", instance_id), user_env, "-e")
    assert on_ours.returncode == 0, on_ours.stderr
    assert instance_id in on_ours.stdout  # listed and shown
    assert f"{instance_id}: hibernated" in on_ours.stderr  # hibernate waits for it, with its progress
    assert api.get(f"/api/v1/instances/{instance_id}").json()["data"]["status"] in ("deleting", "deleted")


def test_snapshot_commands_as_written_then_on_a_real_instance(
    user_env: dict[str, str], api: httpx.Client
) -> None:
    as_written = bash(snippet("seed_003_cli_snapshots.sh"), user_env)
    assert as_written.stderr.count("_NOT_FOUND") == 2  # create on INSTANCE_ID, restore of SNAPSHOT_ID
    assert as_written.returncode == 4

    created = dumont(user_env, "create", "--gpu", "RTX4090", "--wait", "--output", "json")
    assert created.returncode == 0, created.stderr
    instance_id = json.loads(created.stdout)["id"]
    wait_for_agent(api, instance_id)
    earlier = api.post("/api/v1/snapshots", json={"instance_id": instance_id}).json()["data"]["id"]
    assert wait_for_snapshot(api, earlier)["status"] == "completed"

    script = snippet("seed_003_cli_snapshots.sh").replace("INSTANCE_ID", instance_id)
    on_ours = bash(script.replace("SNAPSHOT_ID", earlier), user_env, "-e")
    assert on_ours.returncode == 0, on_ours.stderr
    taken = api.get("/api/v1/snapshots", params={"instance_id": instance_id}).json()["data"]
    assert {"Backup"} <= {snapshot["name"] for snapshot in taken}
    assert earlier in on_ours.stdout


def test_list_output_json_through_jq(user_env: dict[str, str], api: httpx.Client) -> None:
    created = dumont(user_env, "create", "--gpu", "RTX4090", "--name", "jq-seen", "--output", "json")
    assert created.returncode == 0, created.stderr
    # Listed around the command's own run: an instance another test deleted may end meanwhile.
    before = {item["name"] for item in _all_instances(api)}
    done = bash(snippet("seed_003_cli_json.sh"), user_env, "-e", "-o", "pipefail")
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    after = {item["name"] for item in _all_instances(api)}
    assert "jq-seen" in printed
    assert before & after <= set(printed) <= before | after


def test_the_ci_workflow_creates_then_deletes_an_instance(
    user_env: dict[str, str], api: httpx.Client, tmp_path: Path
) -> None:
    steps = {
        step["name"]: step["run"]
        for step in yaml.safe_load(snippet("seed_003_ci.yaml"))["jobs"]["train"]["steps"]
    }
    github_env = tmp_path / "github_env"
    github_env.touch()
    env = {**user_env, "GITHUB_ENV": str(github_env)}
    created = bash(steps["Create GPU Instance"], env, "-e", "-o", "pipefail")
    assert created.returncode == 0, created.stderr
    instance_id = github_env.read_text().strip().removeprefix("INSTANCE_ID=")
    assert instance_id.startswith("inst_")
    # "Train Model" runs `ssh $INSTANCE_ID …` on the runner: not a dumont command, and not run here.
    deleted = bash(steps["Delete Instance"], {**env, "INSTANCE_ID": instance_id}, "-e")
    assert deleted.returncode == 0, deleted.stderr
    assert wait_for_status(api, instance_id, {"deleted"})["status"] == "deleted"


def _all_instances(api: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = api.get("/api/v1/instances", params={"page": page, "per_page": 100}).json()
        found += answer["data"]
        if page * 100 >= answer["meta"]["total"]:
            return found
        page += 1
