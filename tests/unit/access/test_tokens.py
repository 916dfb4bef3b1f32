"""Access tokens carry the token version they were issued under; a token from before versions is of
version 0, and a version that is not a whole number is no token of ours."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt

from dumont_core.access.tokens import ALGORITHM, ISSUER, TokenSigner

SECRET = "s" * 48


def test_a_token_names_its_account_team_and_version() -> None:
    signer = TokenSigner(SECRET)
    issued = signer.issue("acct_1", "team_1", datetime.now(UTC), version=3)
    claims = signer.verify(issued.access_token)
    assert claims is not None
    assert (claims.account_id, claims.team_id, claims.version) == ("acct_1", "team_1", 3)


def _signed(**claims: object) -> str:
    now = int(datetime.now(UTC).timestamp())
    base = {"iss": ISSUER, "sub": "acct_1", "team": "team_1", "iat": now, "exp": now + 60}
    return jwt.encode({**base, **claims}, SECRET, algorithm=ALGORITHM)


def test_a_token_from_before_versions_is_of_version_0() -> None:
    claims = TokenSigner(SECRET).verify(_signed())
    assert claims is not None and claims.version == 0


def test_a_version_that_is_not_a_whole_number_is_refused() -> None:
    for version in ("3", 2.5, True, None):
        assert TokenSigner(SECRET).verify(_signed(ver=version)) is None
