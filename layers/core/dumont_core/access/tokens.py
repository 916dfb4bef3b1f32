"""Access tokens: HS256 JWTs signed with a secret kept in Secrets Manager."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TypeGuard

import jwt

from dumont_core.access.models import IssuedToken, TokenClaims

ISSUER = "dumont-cloud"
ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "team")
MIN_SECRET_LENGTH = 32


class TokenSigner:
    def __init__(self, secret: str, *, lifetime: timedelta = timedelta(hours=1)) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"the token signing secret must be at least {MIN_SECRET_LENGTH} characters")
        self._secret = secret
        self._lifetime = lifetime

    def issue(self, account_id: str, team_id: str, now: datetime, version: int = 0) -> IssuedToken:
        """A token for an account acting in one team, under the account's token version. Role and plan
        are read from the member's seat on every request, so a changed role or a removed member takes
        effect at once; a seat made after the token (a re-add) refuses it by its version."""
        claims = {
            "iss": ISSUER,
            "sub": account_id,
            "team": team_id,
            "ver": version,
            "iat": int(now.timestamp()),
            "exp": int((now + self._lifetime).timestamp()),
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(access_token=token, expires_in=int(self._lifetime.total_seconds()))

    def verify(self, token: str, now: datetime) -> TokenClaims | None:
        """What a valid token says at `now`; None for a tampered, expired, foreign or incomplete token.
        Tokens issued before versions were carried are of version 0."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                # Its times are checked below against `now`, the clock of whoever verifies it.
                options={"require": list(REQUIRED_CLAIMS), "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return None
        if not _valid_at(claims["iat"], claims["exp"], now.timestamp()):
            return None
        version = claims.get("ver", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            return None
        return TokenClaims(account_id=str(claims["sub"]), team_id=str(claims["team"]), version=version)


def _is_time(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _valid_at(issued_at: object, expires_at: object, now: float) -> bool:
    """Issued by `now` and not yet expired: a token is good until the second its `exp` names."""
    if _is_time(issued_at) and _is_time(expires_at):
        return issued_at <= now < expires_at
    return False
