"""Passwords and API keys: only slow hashes of passwords and digests of keys are ever stored."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

API_KEY_PREFIX = "dumont_sk_"
# Shown in listings so a person can tell keys apart; too short to help guess the rest.
VISIBLE_KEY_CHARACTERS = len(API_KEY_PREFIX) + 6

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures take the same time.
_UNKNOWN_ACCOUNT_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password: str, stored_hash: str | None) -> bool:
    try:
        return _hasher.verify(stored_hash or _UNKNOWN_ACCOUNT_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_api_key() -> str:
    return f"{API_KEY_PREFIX}{secrets.token_hex(24)}"


def api_key_digest(key: str) -> str:
    """SHA-256 suffices for keys: they are long random strings, not guessable like passwords."""
    return hashlib.sha256(key.encode()).hexdigest()


def visible_prefix(key: str) -> str:
    return key[:VISIBLE_KEY_CHARACTERS]


def looks_like_api_key(value: str) -> bool:
    return value.startswith(API_KEY_PREFIX) and len(value) > len(API_KEY_PREFIX)
