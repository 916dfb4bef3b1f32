"""The SSH public keys that may log in to an instance's machines, read and fingerprinted as OpenSSH does.

A key is checked by loading it (cryptography's OpenSSH loader), not by its look: a line that only
resembles a key is refused with what is wrong with it. The fingerprint is `ssh-keygen -l`'s: the key's
size in bits, `SHA256:` and the unpadded base64 of the SHA-256 of its blob, its comment, and its type.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from datetime import datetime
from typing import Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from dumont_core.platform.errors import ValidationFailed
from dumont_core.platform.models import DomainModel

MAX_KEYS_PER_INSTANCE = 20
MAX_KEY_CHARS = 16_384

_KEY_TYPE_NAMES = {
    "ssh-ed25519": "ED25519",
    "ssh-rsa": "RSA",
    "ecdsa-sha2-nistp256": "ECDSA",
    "ecdsa-sha2-nistp384": "ECDSA",
    "ecdsa-sha2-nistp521": "ECDSA",
    # Security keys (FIDO): the line is installed as any other; the hardware key signs at the user's end,
    # and the machine's sshd (OpenSSH 8.2 and later) checks it.
    "sk-ssh-ed25519@openssh.com": "ED25519-SK",
    "sk-ecdsa-sha2-nistp256@openssh.com": "ECDSA-SK",
}


class SshKey(DomainModel):
    key_id: str
    name: str
    public_key: str
    """As an `authorized_keys` line: type, base64 blob and comment."""
    fingerprint: str
    """As `ssh-keygen -l` prints it: `256 SHA256:… alice@laptop (ED25519)`."""
    added_at: datetime

    @property
    def sha256(self) -> str:
        return self.fingerprint.split()[1]


def invalid_key(message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"fields": [{"field": "public_key", "message": message}]})


def _bits(key: object) -> int:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return 256
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return key.key_size
    raise invalid_key("This key type is not one OpenSSH servers accept")


def read_public_key(text: str, name: str | None, added_at: datetime) -> SshKey:
    """The key in `text` (one `authorized_keys` line), or ValidationFailed saying what is wrong."""
    line = text.strip()
    if not line:
        raise invalid_key("The public key is empty; paste the contents of your .pub file")
    if len(line) > MAX_KEY_CHARS or "\n" in line or "\r" in line:
        raise invalid_key("Send one public key on one line, as in a .pub file")
    if "PRIVATE KEY" in line:
        raise invalid_key("This is a private key; send the public one (the .pub file) and keep this secret")
    parts = line.split(maxsplit=2)
    kind = parts[0]
    if kind == "ssh-dss":
        raise invalid_key("DSA keys are refused by OpenSSH since version 7.0; use an ed25519 or RSA key")
    if kind not in _KEY_TYPE_NAMES:
        raise invalid_key(
            f"Unknown key type {kind[:40]!r}; expected one of {', '.join(sorted(_KEY_TYPE_NAMES))}"
        )
    if len(parts) < 2:
        raise invalid_key(f"The key has a type ({kind}) but no key data after it")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        loaded = load_ssh_public_key(f"{kind} {parts[1]}".encode())
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise invalid_key(
            f"The key data is not a valid {kind} key; copy the whole line of the .pub file"
        ) from None
    comment = parts[2].strip() if len(parts) > 2 else ""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    label = comment or "no comment"
    fingerprint = f"{_bits(loaded)} SHA256:{digest} {label} ({_KEY_TYPE_NAMES[kind]})"
    return SshKey(
        key_id=f"key_{secrets.token_hex(8)}",
        name=(name or comment or kind)[:100],
        public_key=" ".join(filter(None, [kind, parts[1], comment])),
        fingerprint=fingerprint,
        added_at=added_at,
    )


class AccountKeys(Protocol):
    """A person's SSH keys, which every instance they create starts with (`instances.account_keys`)."""

    def for_new_instance(self, account_id: str) -> list[SshKey]: ...


def first_keys(
    creation_key: str | None, account_id: str, accounts: AccountKeys | None, now: datetime
) -> list[SshKey]:
    """A new instance's keys: the one given at creation, then its creator's account keys it lacks."""
    keys = [read_public_key(creation_key, "added at creation", now)] if creation_key else []
    for key in accounts.for_new_instance(account_id) if accounts is not None else []:
        if len(keys) < MAX_KEYS_PER_INSTANCE and all(known.sha256 != key.sha256 for known in keys):
            keys.append(key)
    return keys
