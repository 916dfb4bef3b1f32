"""The agent keeps the instance's keys in a block of authorized_keys of its own."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import httpx

from dumont_agent.agent import Agent, AgentConfig, ApiClient
from dumont_agent.host_metrics import HostMetrics
from dumont_agent.ssh_keys import BEGIN, END, install_keys

ALICE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"
BOB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWNXuP6uPYQadPK5qqvzn5+3LzQRqpDMwyPnua0R2Tn bob@box"
PROVIDER = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC provider-console"


def test_keys_are_installed_replaced_and_removed_without_touching_other_lines(tmp_path: Path) -> None:
    authorized = tmp_path / ".ssh" / "authorized_keys"

    install_keys(authorized, [ALICE])
    assert authorized.read_text().splitlines() == [BEGIN, ALICE, END]
    assert stat.S_IMODE(authorized.stat().st_mode) == 0o600
    assert stat.S_IMODE(authorized.parent.stat().st_mode) == 0o700

    authorized.write_text(PROVIDER + "\n" + authorized.read_text())
    install_keys(authorized, [ALICE, BOB])
    assert authorized.read_text().splitlines() == [PROVIDER, BEGIN, ALICE, BOB, END]

    install_keys(authorized, [BOB])
    assert authorized.read_text().splitlines() == [PROVIDER, BEGIN, BOB, END]
    install_keys(authorized, [])
    assert authorized.read_text().splitlines() == [PROVIDER, BEGIN, END], "the provider's key stays"


def test_the_block_the_first_boot_wrote_is_the_one_the_agent_replaces(tmp_path: Path) -> None:
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(f"{PROVIDER}\n{BEGIN}\n{ALICE}\n{END}\n")

    install_keys(authorized, [BOB])

    assert authorized.read_text().splitlines() == [PROVIDER, BEGIN, BOB, END]


def test_the_first_boot_writes_the_same_markers_the_agent_looks_for() -> None:
    from dumont_core.instances.provisioning_steps import AUTHORIZED_KEYS_BEGIN, AUTHORIZED_KEYS_END

    assert (AUTHORIZED_KEYS_BEGIN, AUTHORIZED_KEYS_END) == (BEGIN, END)


def test_a_key_list_older_than_the_one_installed_is_left_aside(tmp_path: Path) -> None:
    """Two changes made at once can reach the agent in the other order: the newer list stays."""
    reports: list[tuple[str, dict[str, Any]]] = []

    def api(request: httpx.Request) -> httpx.Response:
        reports.append((request.url.path.rsplit("/", 1)[-1], json.loads(request.content)))
        return httpx.Response(200, json={"success": True})

    authorized = tmp_path / "authorized_keys"
    config = AgentConfig(
        api_url="http://api.test",
        token="t",
        workspace=tmp_path,
        state_dir=tmp_path,
        authorized_keys=authorized,
    )
    agent = Agent(config, ApiClient(config, httpx.MockTransport(api)), HostMetrics(tmp_path, nvml=object()))

    agent.carry_out({"id": "act_b", "type": "authorize_keys", "keys": [BOB], "version": 2})
    agent.carry_out({"id": "act_a", "type": "authorize_keys", "keys": [ALICE, BOB], "version": 1})

    assert authorized.read_text().splitlines() == [BEGIN, BOB, END], "Alice's key was removed after"
    finished = {action: body for action, body in reports if body["status"] == "completed"}
    assert finished["act_a"]["result"] == {"keys": 2, "left_aside": True, "installed_version": 2}
    agent.carry_out({"id": "act_c", "type": "authorize_keys", "keys": [ALICE], "version": 3})
    assert authorized.read_text().splitlines() == [BEGIN, ALICE, END]
