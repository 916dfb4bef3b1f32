"""Ctrl-C on `make run` ends the local stack within 5 s, whatever is under way, and leaves nothing behind.

It used to wait up to 10 s for each part in turn, and a workflow waiting for an agent (a hibernation's
snapshot, say) never finished before its wait ran out.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.e2e.conftest import wait_for_agent, wait_for_status

REPO_ROOT = Path(__file__).resolve().parents[3]
EXIT_SECONDS = 5


@pytest.fixture
def local_stack() -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack", "--port", "0", "--marketplace-port", "0", "--aws-port", "0"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = key = ""
        assert process.stdout is not None
        for line in process.stdout:
            url = found.group(1) if (found := re.search(r"running at (\S+)", line)) else url
            key = found.group(1) if (found := re.search(r"Its API key:\s+(\S+)", line)) else key
            if "Ctrl-C" in line:
                break
        assert url and key, "the local stack did not start"
        yield process, url, key
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_ctrl_c_ends_the_stack_within_5_s_while_workflows_wait_for_agents(
    local_stack: tuple[subprocess.Popen[str], str, str],
) -> None:
    process, url, key = local_stack
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
        assert client.get("/health").status_code == 200
        created = [client.post("/api/v1/instances", json={"gpu_type": "RTX_4090"}) for _ in range(2)]
        instance_ids = [response.json()["data"]["id"] for response in created]
        for instance_id in instance_ids:
            wait_for_status(client, instance_id, {"running"})
            wait_for_agent(client, instance_id)
        # Hibernations wait for the agents to snapshot their workspaces.
        for instance_id in instance_ids:
            response = client.post(f"/api/instances/{instance_id}/hibernate")
            assert response.status_code == 200, response.text
    children = psutil.Process(process.pid).children(recursive=True)

    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=EXIT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the local stack was still running {EXIT_SECONDS} s after Ctrl-C")
    took = time.monotonic() - started

    assert process.returncode in (0, 130), process.returncode
    assert took < EXIT_SECONDS
    assert not [child for child in children if child.is_running()]
