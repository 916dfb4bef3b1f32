"""Access tokens: HS256 JWTs signed with a secret kept in Secrets Manager."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import jwt

from dumont_core.access.models import IssuedToken

ISSUER = "dumont-cloud"
ALGORITHM = "HS256"


class TokenSigner:
    def __init__(self, secret: str, *, lifetime: timedelta = timedelta(hours=1)) -> None:
        if len(secret) < 32:
            raise ValueError("the token signing secret must be at least 32 characters")
        self._secret = secret
        self._lifetime = lifetime

    def issue(self, account_id: str, team_id: str, now: datetime) -> IssuedToken:
        """A token for an account acting in one team. Role and plan are read from the member's seat on
        every request, so a changed role or a removed member takes effect at once."""
        claims = {
            "iss": ISSUER,
            "sub": account_id,
            "team": team_id,
            "iat": int(now.timestamp()),
            "exp": int((now + self._lifetime).timestamp()),
            "jti": secrets.token_hex(8),
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(access_token=token, expires_in=int(self._lifetime.total_seconds()))

    def verify(self, token: str) -> tuple[str, str] | None:
        """The account and team a valid token names; None for a tampered, expired or foreign token."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "team"]},
            )
        except jwt.PyJWTError:
            return None
        return str(claims["sub"]), str(claims["team"])
