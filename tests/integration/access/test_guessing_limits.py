"""Limits on guessing passwords and on sign-ups: failed logins per account and per address, registrations
per address, counted in fixed windows against a real table (moto) on the test's clock. The limits here
are small (conftest.LIMITS): 3 failed logins per account, 5 per address, in 15 minutes; 4 registrations
per address an hour."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from dumont_core.access.attempts import address_subject
from dumont_core.access.service import AccessService
from dumont_core.access.teams import TeamService
from dumont_core.platform import table
from dumont_core.platform.errors import NotFound, TooManyAttempts, Unauthenticated
from tests.fakes.clock import Clock
from tests.integration.access.conftest import PASSWORD
from tests.integration.conftest import REGION, TABLE_NAME

ADDRESS = "203.0.113.7"


def fail_login(access: AccessService, email: str, address: str | None = ADDRESS) -> None:
    with pytest.raises(Unauthenticated):
        access.login(email, "not the password", caller_address=address)


def refused_login(access: AccessService, email: str, password: str, address: str | None = ADDRESS) -> int:
    with pytest.raises(TooManyAttempts) as refused:
        access.login(email, password, caller_address=address)
    assert refused.value.code == "TOO_MANY_ATTEMPTS" and refused.value.http_status == 429
    assert refused.value.details == {"retry_after": refused.value.retry_after}
    return int(refused.value.retry_after or 0)


def counters(kind: str, subject: str) -> list[dict[str, Any]]:
    answer = boto3.client("dynamodb", region_name=REGION).query(
        TableName=TABLE_NAME,
        KeyConditionExpression="PK = :subject",
        ExpressionAttributeValues={":subject": {"S": table.attempts_key(kind, subject)}},
    )
    return list(answer["Items"])


def test_failed_logins_lock_the_account_until_the_window_ends_even_for_the_right_password(
    access: AccessService, clock: Clock
) -> None:
    access.register("locked@example.com", PASSWORD)
    clock.advance(minutes=5)
    for _ in range(3):
        fail_login(access, "locked@example.com")
    assert refused_login(access, "locked@example.com", PASSWORD) == 10 * 60, "the window ends at :15"
    clock.advance(minutes=9, seconds=59)
    assert refused_login(access, "locked@example.com", PASSWORD, address="198.51.100.1") == 1
    clock.advance(seconds=1)
    assert access.login("locked@example.com", PASSWORD, caller_address=ADDRESS).access_token


def test_an_unknown_email_is_counted_and_refused_like_a_known_one(access: AccessService) -> None:
    access.register("known@example.com", PASSWORD)
    for email in ("known@example.com", "unknown@example.com"):
        for _ in range(3):
            fail_login(access, email, address=None)
    assert refused_login(access, "known@example.com", "x", address=None) == refused_login(
        access, "unknown@example.com", "x", address=None
    )


def test_successful_logins_are_not_counted(access: AccessService) -> None:
    access.register("regular@example.com", PASSWORD)
    for _ in range(2):
        fail_login(access, "regular@example.com")
    for _ in range(10):
        assert access.login("regular@example.com", PASSWORD, caller_address=ADDRESS).access_token
    fail_login(access, "regular@example.com")
    refused_login(access, "regular@example.com", PASSWORD)


def test_failed_logins_from_one_address_across_accounts_are_limited_there_alone(
    access: AccessService,
) -> None:
    for index in range(5):
        fail_login(access, f"target{index}@example.com")
    access.register("bystander@example.com", PASSWORD)
    refused_login(access, "bystander@example.com", PASSWORD)
    assert access.login("bystander@example.com", PASSWORD, caller_address="198.51.100.2").access_token


def test_a_refused_login_counts_nowhere(access: AccessService) -> None:
    for _ in range(3):
        fail_login(access, "victim@example.com")
    for _ in range(4):
        refused_login(access, "victim@example.com", "guess", address="198.51.100.3")
    assert counters("login-address", "198.51.100.3") == [], "nothing was counted from that address"


def test_an_ipv6_subscriber_is_counted_by_its_64_prefix(access: AccessService) -> None:
    assert (
        address_subject("2001:db8:1:2:aaaa::1")
        == address_subject("2001:db8:1:2:bbbb::9")
        == ("2001:db8:1:2::/64")
    )
    assert address_subject("::ffff:203.0.113.7") == "203.0.113.7"
    for index in range(5):
        fail_login(access, f"v6-{index}@example.com", address=f"2001:db8:1:2::{index + 1}")
    refused_login(access, "v6-other@example.com", "guess", address="2001:db8:1:2:ffff::1")
    fail_login(access, "v6-other@example.com", address="2001:db8:1:3::1")


def test_logging_in_to_a_team_one_is_not_in_is_404_and_counts_as_a_failure(
    access: AccessService, teams: TeamService
) -> None:
    owner = access.register("team-owner@example.com", PASSWORD)
    access.register("outsider@example.com", PASSWORD)
    for _ in range(3):
        with pytest.raises(NotFound) as not_found:
            access.login("outsider@example.com", PASSWORD, team_id=owner.team_id, caller_address=ADDRESS)
        assert not_found.value.code == "TEAM_NOT_FOUND"
    refused_login(access, "outsider@example.com", PASSWORD)


def test_registrations_are_limited_per_address_and_a_refused_one_creates_nothing(
    access: AccessService, clock: Clock
) -> None:
    for index in range(4):
        access.register(f"signup{index}@example.com", PASSWORD, caller_address=ADDRESS)
    with pytest.raises(TooManyAttempts) as refused:
        access.register("signup4@example.com", PASSWORD, caller_address=ADDRESS)
    assert refused.value.retry_after == 3600
    fail_login(access, "signup4@example.com", address=None)
    access.register("elsewhere@example.com", PASSWORD, caller_address="198.51.100.4")
    clock.advance(hours=1)
    access.register("signup4@example.com", PASSWORD, caller_address=ADDRESS)


def test_demo_requests_are_limited_per_address_and_a_refused_one_is_not_counted(
    access: AccessService, clock: Clock
) -> None:
    windows = [access.admit_demo(ADDRESS) for _ in range(3)]
    assert [(window.remaining, window.limited) for window in windows] == [(2, False), (1, False), (0, False)]
    window_end = int(clock.now.timestamp()) // 60 * 60 + 60
    refused = access.admit_demo(ADDRESS)
    assert (refused.limited, refused.remaining, refused.reset_at) == (True, 0, window_end)
    assert access.admit_demo(ADDRESS).limited, "a refused request did not reset or pass the count"
    assert not access.admit_demo("198.51.100.4").limited, "another address has its own allowance"
    clock.advance(seconds=60)
    assert access.admit_demo(ADDRESS).remaining == 2


def test_counters_expire_with_their_window(access: AccessService, clock: Clock) -> None:
    fail_login(access, "expiring@example.com")
    [counter] = counters("login-account", "expiring@example.com")
    window_start = int(clock.now.timestamp()) // 900 * 900
    assert int(counter[table.TTL_ATTRIBUTE]["N"]) == window_start + 2 * 900
