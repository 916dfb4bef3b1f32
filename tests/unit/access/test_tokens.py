"""Access tokens: only ours (our issuer, HS256 with our secret), complete (exp, iat, sub, team), and good
from when they were issued until the second they expire, as the verifier's clock tells. They carry the
token version they were issued under; a token from before versions is of version 0, and a version that
is not a whole number is no token of ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from dumont_core.access.tokens import ALGORITHM, ISSUER, TokenSigner

SECRET = "s" * 64
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
LIFETIME = timedelta(hours=1)


def _claims(**changes: object) -> dict[str, object]:
    now = int(NOW.timestamp())
    base: dict[str, object] = {"iss": ISSUER, "sub": "acct_1", "team": "team_1", "iat": now, "exp": now + 60}
    return {**base, **changes}


def _signed(**claims: object) -> str:
    return jwt.encode(_claims(**claims), SECRET, algorithm=ALGORITHM)


def _without(claim: str) -> str:
    claims = _claims()
    del claims[claim]
    return jwt.encode(claims, SECRET, algorithm=ALGORITHM)


def test_a_token_names_its_account_team_and_version() -> None:
    signer = TokenSigner(SECRET)
    issued = signer.issue("acct_1", "team_1", NOW, version=3)
    claims = signer.verify(issued.access_token, NOW)
    assert claims is not None
    assert (claims.account_id, claims.team_id, claims.version) == ("acct_1", "team_1", 3)


def test_a_token_is_good_until_the_second_it_expires_and_not_at_that_second() -> None:
    signer = TokenSigner(SECRET, lifetime=LIFETIME)
    token = signer.issue("acct_1", "team_1", NOW).access_token
    assert signer.verify(token, NOW) is not None
    assert signer.verify(token, NOW + LIFETIME - timedelta(microseconds=1)) is not None
    assert signer.verify(token, NOW + LIFETIME) is None
    assert signer.verify(token, NOW + LIFETIME + timedelta(seconds=1)) is None


def test_a_token_is_checked_against_the_time_it_is_given_not_the_wall_clock() -> None:
    issued_long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    signer = TokenSigner(SECRET)
    token = signer.issue("acct_1", "team_1", issued_long_ago).access_token
    assert signer.verify(token, issued_long_ago + timedelta(minutes=59)) is not None
    assert signer.verify(token, NOW) is None


def test_a_token_issued_after_the_time_it_is_checked_at_is_refused() -> None:
    later = int((NOW + timedelta(minutes=5)).timestamp())
    assert TokenSigner(SECRET).verify(_signed(iat=later, exp=later + 60), NOW) is None


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "team"])
def test_a_token_missing_a_claim_we_rely_on_is_refused(claim: str) -> None:
    assert TokenSigner(SECRET).verify(_signed(), NOW) is not None
    assert TokenSigner(SECRET).verify(_without(claim), NOW) is None


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_time_that_is_not_a_number_is_refused(claim: str) -> None:
    for value in ("soon", True):
        assert TokenSigner(SECRET).verify(_signed(**{claim: value}), NOW) is None


@pytest.mark.parametrize("issuer", ["someone-else", "", None])
def test_a_token_of_another_issuer_or_none_is_refused(issuer: str | None) -> None:
    token = _without("iss") if issuer is None else _signed(iss=issuer)
    assert TokenSigner(SECRET).verify(token, NOW) is None


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_a_token_signed_with_another_algorithm_is_refused_even_with_our_secret(algorithm: str) -> None:
    token = jwt.encode(_claims(), SECRET, algorithm=algorithm)
    assert TokenSigner(SECRET).verify(token, NOW) is None


def test_an_unsigned_token_is_refused() -> None:
    token = jwt.encode(_claims(), None, algorithm="none")
    assert TokenSigner(SECRET).verify(token, NOW) is None
    assert TokenSigner(SECRET).verify(token.rstrip(".") + ".", NOW) is None


def test_a_token_signed_with_another_secret_is_refused() -> None:
    assert TokenSigner("t" * 48).verify(_signed(), NOW) is None


def test_the_signing_secret_is_at_least_32_characters() -> None:
    TokenSigner("s" * 32)
    with pytest.raises(ValueError, match="at least 32 characters"):
        TokenSigner("s" * 31)


def test_a_token_from_before_versions_is_of_version_0() -> None:
    claims = TokenSigner(SECRET).verify(_signed(), NOW)
    assert claims is not None
    assert claims.version == 0


def test_a_version_that_is_not_a_whole_number_is_refused() -> None:
    for version in ("3", 2.5, True, None):
        assert TokenSigner(SECRET).verify(_signed(ver=version), NOW) is None


def test_a_token_issued_without_a_version_is_of_version_0() -> None:
    signer = TokenSigner(SECRET)
    claims = signer.verify(signer.issue("acct_1", "team_1", NOW).access_token, NOW)
    assert claims is not None
    assert claims.version == 0


def test_every_token_has_an_id_of_its_own() -> None:
    signer = TokenSigner(SECRET)
    tokens = [signer.issue("acct_1", "team_1", NOW).access_token for _ in range(2)]
    ids = [jwt.decode(token, options={"verify_signature": False})["jti"] for token in tokens]
    assert ids[0] != ids[1], "two tokens issued in the same second differ"
    assert all(len(token_id) == 16 and int(token_id, 16) >= 0 for token_id in ids)
    assert len(ids) == 2
