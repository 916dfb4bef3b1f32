"""Access tokens: HS256 JWTs signed with a secret kept in Secrets Manager."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import jwt

from dumont_core.access.models import IssuedToken, TokenClaims

ISSUER = "dumont-cloud"
ALGORITHM = "HS256"


class TokenSigner:
    def __init__(self, secret: str, *, lifetime: timedelta = timedelta(hours=1)) -> None:
        if len(secret) < 32:
            raise ValueError("the token signing secret must be at least 32 characters")
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

    def verify(self, token: str) -> TokenClaims | None:
        """What a valid token says; None for a tampered, expired or foreign token. Tokens issued before
        versions were carried are of version 0."""
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
        version = claims.get("ver", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            return None
        return TokenClaims(account_id=str(claims["sub"]), team_id=str(claims["team"]), version=version)
