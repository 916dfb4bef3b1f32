"""SSH public keys are read as OpenSSH reads them, and fingerprinted as `ssh-keygen -l` prints them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.instances.schemas import CreateInstanceRequest
from dumont_core.instances.ssh_keys import read_public_key
from dumont_core.platform.errors import ValidationFailed

NOW = datetime(2025, 3, 1, tzinfo=UTC)
# Made with ssh-keygen; the fingerprints are what `ssh-keygen -lf` printed for them.
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWNXuP6uPYQadPK5qqvzn5+3LzQRqpDMwyPnua0R2Tn bob@box"
RSA = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDr+4GexEg3yfYV71g0w5i5uF7hRfWAoNRPrvZjEBWARe5644ZYKX"
    "3uGsxPjz7Uv1G6FLckmV+fkzFwDXOFYA5sYaeJ98gwg1nIa5IWJeQS3TcMCN+uxPEVXOcK+qt4AEJq4Bo7JIeEXull"
    "G26hWKZZfIbIR6Em28G3CvYgoKH10nO16XSmHn5hG60pj0xrDnewNRF3aYsJeHmzNNz/N6pDvu6JhTQZuv8lJn+VJd"
    "uwCpKmRzvXPq84QT/CZWyEyDS6K/DbxRB4fBoREmKKb3rO3d0wmSkW4cgmPRjRbwz4b1I5rR2nAvt39NsulXLU9bpm"
    "mgcNJWgj+rWfl6IqGno5 carol@ci"
)
# Security keys, built from a known Ed25519 and P-256 key (application "ssh:"); `ssh-keygen -lf` printed
# the fingerprints.
ED25519_SK = (
    "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAOhB7/zzhC+HXDdGOdLwJln5NYwm6"
    "UNXx3chmQSVTG4AAAABHNzaDo= alice@yubikey"
)
ECDSA_SK = (
    "sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAy"
    "NTYAAABBBCbvzr0O6eNKZpGH4Ys6kSKy9zOUW2Scyfn5Ien52tgSkCOL3pzHuzMNFQxncE3SWucFUgV0S28xv0BwdFhy0OYAAAAE"
    "c3NoOg== bob@yubikey"
)
ECDSA_WITHOUT_COMMENT = (
    "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBBsIxyqX4kUp3Kdqcp"
    "NMmeSMg/zsBNEWKZyMm51Yf4Dcf7B97bP9VFqJOO/C56mlL2pHeiMhuAHex/O1qFaPniy9gcOlQJfYH2Cm87DLZbcP"
    "8OjxT12zNZVgC7WbAQEn7w=="
)


@pytest.mark.parametrize(
    ("line", "fingerprint"),
    [
        (ED25519, "256 SHA256:QM7lTf25psOVJ4QsAYFYAEPEa4c4W6BPZmMzpHYHSOM bob@box (ED25519)"),
        (RSA, "2048 SHA256:BhC1txY2c81dWWj8WFOYtQXJPx9jUq7MUvWqly/pYJ8 carol@ci (RSA)"),
        (ECDSA_WITHOUT_COMMENT, "384 SHA256:5QhtLAB0el0fVgJBO+9G6Tb4QXrzn3cSpAw1WyEfUOo no comment (ECDSA)"),
        (ED25519_SK, "256 SHA256:zZRfREUNsMUzSOFB5SbeIp9ej3rAmmnO94dMSqCRPD8 alice@yubikey (ED25519-SK)"),
        (ECDSA_SK, "256 SHA256:qwQ7H9zony56IqihyZSloY2yWi/IQ0KPIOExKcVmjHo bob@yubikey (ECDSA-SK)"),
    ],
    ids=["ed25519", "rsa", "ecdsa", "ed25519-security-key", "ecdsa-security-key"],
)
def test_the_fingerprint_is_ssh_keygens(line: str, fingerprint: str) -> None:
    key = read_public_key(f"  {line}\n", None, NOW)

    assert key.fingerprint == fingerprint
    assert key.public_key == line.strip()


def test_the_name_is_given_or_the_comment() -> None:
    assert read_public_key(ED25519, None, NOW).name == "bob@box"
    assert read_public_key(ED25519, "laptop", NOW).name == "laptop"
    assert read_public_key(ECDSA_WITHOUT_COMMENT, None, NOW).name == "ecdsa-sha2-nistp384"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("", "empty"),
        ("-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA", "private key"),
        ("ssh-foo AAAAB3NzaC1yc2E", "Unknown key type"),
        ("ssh-ed25519", "no key data"),
        (ED25519.replace("AAAAC3", "AAAAC4"), "not a valid ssh-ed25519 key"),
        ("ssh-ed25519 not*base64 me@host", "not a valid ssh-ed25519 key"),
        (RSA.replace("ssh-rsa", "ssh-ed25519", 1), "not a valid ssh-ed25519 key"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "DSA keys are refused"),
        (ED25519 + "\n" + RSA, "one public key on one line"),
    ],
    ids=[
        "empty",
        "private",
        "unknown type",
        "no data",
        "corrupted",
        "not base64",
        "wrong type",
        "dsa",
        "two",
    ],
)
def test_what_is_not_a_usable_public_key_is_refused_saying_why(line: str, says: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        read_public_key(line, None, NOW)

    assert says in refused.value.message
    assert refused.value.details["fields"][0]["field"] == "public_key"


@pytest.mark.parametrize("line", [ED25519_SK, ECDSA_SK], ids=["ed25519-security-key", "ecdsa-security-key"])
def test_a_security_key_is_taken_at_creation_as_when_added_later(line: str) -> None:
    asked = CreateInstanceRequest.model_validate({"gpu_type": "RTX_4090", "ssh_key": line})

    assert asked.ssh_key == line
