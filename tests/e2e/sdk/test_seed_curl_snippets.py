"""Every curl command of seeds 000, 001 and 003, run unmodified by bash with the real `curl`.

The commands are the seeds' code blocks character for character (seed_snippets/seed_*_curl_*.sh). What
a user does by hand is done by a `curl` function defined before each: the documents' host
(`https://dumontcloud.com`, or no host at all in seed 000) becomes the local stack, and a placeholder
credential (`YOUR_API_KEY`, `dumont_sk_...`, `eyJ...`, `your_api_key`) the user's real key, in the header
the command names. A command shown without any credential is sent without one, and placeholders for
objects (`inst_abc123`, `28864630`) are sent as written: both must be refused as documented.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.sdk.conftest import snippet

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("cleanup_instances")]

# Prints each answer's body, then its status on a line of its own.
CURL_AS_A_USER_WOULD = r"""
curl() {
  local arguments=() argument
  for argument in "$@"; do
    case "$argument" in
      https://dumontcloud.com/*) argument="$DUMONT_API_URL${argument#https://dumontcloud.com}" ;;
      /api/*) argument="$DUMONT_API_URL$argument" ;;
      "Authorization: Bearer "*) argument="Authorization: Bearer $DUMONT_API_KEY" ;;
      "X-API-Key: "*) argument="X-API-Key: $DUMONT_API_KEY" ;;
    esac
    arguments+=("$argument")
  done
  command curl --silent --show-error --write-out '\n%{http_code}\n' "${arguments[@]}"
}
"""

# What each command must get: its status, and the error code of a refusal.
EXPECTED: dict[str, tuple[int, str | None]] = {
    # A login of the documents' made-up account is refused like any wrong password (or, once the other
    # documented snippets logging in as it have failed often enough, as too many attempts: see below).
    "seed_000_curl_login.sh": (401, "UNAUTHENTICATED"),
    "seed_000_curl_token.sh": (200, None),
    "seed_000_curl_api_key.sh": (200, None),
    # Shown without a credential (the page's other examples carry one): refused as every request is.
    "seed_000_curl_pages.sh": (401, "UNAUTHENTICATED"),
    "seed_000_curl_webhooks.sh": (401, "UNAUTHENTICATED"),
    "seed_001_curl_auth.sh": (200, None),
    "seed_001_curl_list.sh": (200, None),
    "seed_001_curl_create.sh": (201, None),
    "seed_001_curl_stop.sh": (404, "INSTANCE_NOT_FOUND"),
    "seed_003_curl_create.sh": (201, None),
    "seed_003_curl_machines.sh": (200, None),
    "seed_003_curl_hibernate.sh": (404, "INSTANCE_NOT_FOUND"),
    "seed_003_curl_snapshot.sh": (404, "INSTANCE_NOT_FOUND"),
    "seed_003_curl_webhooks.sh": (201, None),
    "seed_003_curl_demo.sh": (200, None),
}


def run_curl(name: str, env: dict[str, str]) -> list[tuple[int, Any]]:
    """Each answer the snippet got: its status and its JSON body. `wait` collects a command the seed's
    unquoted `&` sent to the background."""
    script = CURL_AS_A_USER_WOULD + snippet(name) + "wait\n"
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    answers = []
    lines = done.stdout.strip().split("\n")
    body: list[str] = []
    for line in lines:
        if line.isdigit() and len(line) == 3:
            answers.append((int(line), json.loads("\n".join(body)) if body else None))
            body = []
        else:
            body.append(line)
    return answers


@pytest.fixture(autouse=True)
def _curl_is_installed() -> None:
    assert shutil.which("curl"), "the documents' commands need curl"


@pytest.fixture(autouse=True)
def _no_subscription_left(api: httpx.Client) -> Iterator[None]:
    """The documents' subscriptions point at hosts that do not answer: left, their deliveries would be
    retried ahead of other tests' at the stack's one sender."""
    before = {item["id"] for item in api.get("/api/v1/webhooks").json()["data"]}
    yield
    for item in api.get("/api/v1/webhooks").json()["data"]:
        if item["id"] not in before:
            api.delete(f"/api/v1/webhooks/{item['id']}")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_documented_curl_command_gets_its_documented_answer(name: str, user_env: dict[str, str]) -> None:
    status, code = EXPECTED[name]

    answers = run_curl(name, user_env)

    if name == "seed_000_curl_login.sh" and answers and answers[0][0] == 429:
        # The account is locked by earlier wrong passwords for it: refused all the same, saying when to retry.
        status, code = 429, "TOO_MANY_ATTEMPTS"

    assert [answered for answered, _ in answers] == [status], answers
    body = answers[0][1]
    assert isinstance(body, dict), body
    if code is None:
        assert body.get("success", True) is True, body
    else:
        assert body["success"] is False and body["error"]["code"] == code, body
