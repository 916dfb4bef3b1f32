"""Passwords and API keys: only slow hashes of passwords and digests of keys are ever stored."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dumont_core.access.models import ApiKeyParts

API_KEY_PREFIX = "dumont_sk_"
# Shown in listings so a person can tell keys apart; too short to help guess the rest.
VISIBLE_KEY_CHARACTERS = len(API_KEY_PREFIX) + 8

_hasher = PasswordHasher()


@cache
def _unknown_account_hash() -> str:
    """Verified against when the email is unknown, so both failures take the same time. Made on the
    first login, not at import: no other request pays for a slow hash."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _password_bytes(password: str) -> bytes:
    # JSON can carry a lone surrogate ("\ud800"), which strict UTF-8 cannot encode.
    return password.encode("utf-8", "surrogatepass")


def hash_password(password: str) -> str:
    return _hasher.hash(_password_bytes(password))


def password_matches(password: str, stored_hash: str | None) -> bool:
    """Whether `password` is the one `stored_hash` was made from. Every wrong password, of whatever
    length, and an unknown account (None) take one argon2 verification, and fail alike."""
    unknown = _unknown_account_hash()  # made before either path, so neither pays for making it
    try:
        return _hasher.verify(stored_hash or unknown, _password_bytes(password)) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


_ID_HEX = 16
_SECRET_HEX = 40
_KEY_BODY = re.compile(
    rf"^([0-9a-f]{{{_ID_HEX}}})([0-9a-f]{{{_ID_HEX}}})([0-9a-f]{{{_ID_HEX}}})[0-9a-f]{{{_SECRET_HEX}}}$"
)


def new_id(kind: str) -> str:
    """`team_…`, `acct_…`, `key_…`: a kind and 16 random hex digits."""
    return f"{kind}_{secrets.token_hex(_ID_HEX // 2)}"


def _hex_of(identifier: str) -> str:
    return identifier.partition("_")[2]


def new_api_key(team_id: str, account_id: str) -> tuple[str, str]:
    """A fresh key for a member's seat, and its id."""
    key_id = new_id("key")
    body = _hex_of(key_id) + _hex_of(team_id) + _hex_of(account_id) + secrets.token_hex(_SECRET_HEX // 2)
    return f"{API_KEY_PREFIX}{body}", key_id


def parse_api_key(value: str) -> ApiKeyParts | None:
    match = _KEY_BODY.match(value.removeprefix(API_KEY_PREFIX)) if looks_like_api_key(value) else None
    if match is None:
        return None
    key_hex, team_hex, account_hex = match.groups()
    return ApiKeyParts(key_id=f"key_{key_hex}", team_id=f"team_{team_hex}", account_id=f"acct_{account_hex}")


def api_key_digest(key: str) -> str:
    """SHA-256 suffices for keys: they are long random strings, not guessable like passwords."""
    return hashlib.sha256(key.encode()).hexdigest()


def visible_prefix(key: str) -> str:
    return key[:VISIBLE_KEY_CHARACTERS]


def looks_like_api_key(value: str) -> bool:
    return value.startswith(API_KEY_PREFIX) and len(value) > len(API_KEY_PREFIX)


def credential_in(headers: Mapping[str, str] | None) -> str | None:
    """The credential a request's headers carry: `Authorization: Bearer <access token or API key>`, or
    `X-API-Key: dumont_sk_…` (API keys only: a login token goes in the Authorization header)."""
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    authorization = lowered.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    api_key = lowered.get("x-api-key", "").strip()
    return api_key if looks_like_api_key(api_key) else None
