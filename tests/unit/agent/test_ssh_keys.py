"""The agent keeps the instance's keys in a block of authorized_keys of its own."""

from __future__ import annotations

import stat
from pathlib import Path

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
