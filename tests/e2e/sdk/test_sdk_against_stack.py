"""The SDK's own promises against the local stack: pages, idempotent creates, typed errors, the async
client, and the packages installed as a user installs them."""

from __future__ import annotations

import asyncio
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dumont import AsyncClient, Client, InstanceNotFoundError, InvalidStateError, ValidationError
from tests.e2e.conftest import wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("user_env", "cleanup_instances")]
REPO = Path(__file__).resolve().parents[3]


def test_iterating_walks_every_page_of_the_real_api(api: httpx.Client) -> None:
    client = Client()
    made = [client.instances.create(gpu_type="RTX 4090", wait=False).id for _ in range(3)]
    for instance_id in made:
        wait_for_status(api, instance_id, {"running"})
    # Running instances only: others' deletions, still finishing, would move the pages under us.
    one_by_one = [instance.id for instance in client.instances.list(status="running", per_page=1)]
    all_at_once = [instance.id for instance in client.instances.list(status="running", per_page=100)]
    assert set(made) <= set(one_by_one) and one_by_one == all_at_once


def test_a_create_retried_with_its_idempotency_key_rents_one_machine() -> None:
    client = Client()
    first = client.instances.create(gpu_type="RTX 4090", idempotency_key="seed-retry-1", wait=False)
    again = client.instances.create(gpu_type="RTX 4090", idempotency_key="seed-retry-1", wait=False)
    assert first.id == again.id


def test_the_apis_errors_arrive_as_their_classes() -> None:
    client = Client()
    with pytest.raises(InstanceNotFoundError) as missing:
        client.instances.get("inst_nope")
    assert missing.value.code == "INSTANCE_NOT_FOUND" and missing.value.status == 404
    with pytest.raises(ValidationError) as invalid:
        client.instances.create(gpu_type="GTX 9999")
    assert invalid.value.details["fields"][0]["field"] == "gpu_type"
    starting = client.instances.create(gpu_type="RTX 4090", wait=False)
    with pytest.raises(InvalidStateError) as state:
        client.instances.start(starting.id)
    assert "current_state" in state.value.details


def test_the_async_client_creates_waits_and_deletes(api: httpx.Client) -> None:
    async def scenario() -> tuple[str, str, list[str]]:
        async with AsyncClient() as client:
            instance = await client.instances.create(gpu_type="RTX 4090", region="US-East")
            listed = [item.id async for item in client.instances.list(status="running")]
            deleted = await client.instances.delete(instance.id)
            return instance.status, deleted.status, [instance.id, *listed]

    status, after_delete, (instance_id, *listed) = asyncio.run(scenario())
    assert status == "running" and instance_id in listed
    assert after_delete == "deleting"


def test_pip_install_of_the_two_folders_gives_import_dumont_and_the_dumont_command(tmp_path: Path) -> None:
    # Built and installed from their folders as `pip install ./sdk/python ./cli` does; their dependencies
    # (httpx, click, rich) come from this environment.
    target = tmp_path / "site"
    # Copies, so that the build leaves nothing in the working tree.
    folders = [tmp_path / "sdk", tmp_path / "cli"]
    skip = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    shutil.copytree(REPO / "sdk" / "python", folders[0], ignore=skip)
    shutil.copytree(REPO / "cli", folders[1], ignore=skip)
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         *map(str, folders)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert (target / "dumont" / "py.typed").is_file()
    command = target / "bin" / "dumont"
    env = {"PYTHONPATH": os.pathsep.join([str(target), *site.getsitepackages()]), "PATH": os.defpath}
    imported = subprocess.run(
        [sys.executable, "-c", "import dumont; print(dumont.__file__)"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert imported.stdout.startswith(str(target))
    helped = subprocess.run([sys.executable, str(command), "--help"], env=env, capture_output=True, text=True)
    assert helped.returncode == 0 and "dumont list --output json" in helped.stdout
