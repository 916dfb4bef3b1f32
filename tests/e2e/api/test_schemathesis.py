"""Every operation of the OpenAPI document, driven by schemathesis against the local stack: valid and
invalid requests alike, each answered without a server error, with a status the document lists for the
operation, and a body and headers matching what it documents for that status; a method a path does not
serve is 405 with an `Allow` header, and no operation answers without its credentials. Live metrics,
documented there as a WebSocket upgrade, are left to tests/e2e/live.

The run is bounded and derandomized (a fixed seed, deterministic generation, a few examples per
operation), so it finds the same cases every time in about two minutes. A failure names the operation,
the case and a curl command that reproduces it (credentials filtered out).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from api import openapi
from api.routing import WEBSOCKET_EXTENSION
from dumont_core import composition
from dumont_core.platform.errors import InvalidState
from dumont_core.platform.identity import Principal
from local_stack.stack import LocalStack
from tests.e2e.agents.test_agent import agent_token
from tests.e2e.conftest import machine_of, wait_for_agent, wait_for_status

pytestmark = pytest.mark.e2e

SEED = 20261202
MAX_EXAMPLES = 4
PHASES = "examples,coverage,fuzzing"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "unsupported_method",
    "allow_header_conformance",
    "missing_required_header",
    "ignored_auth",
)
"""Not negative_data_rejection and positive_data_acceptance: request models coerce lax input (`0` for
`false`) and the domain refuses more than the schema says (an unknown GPU type), which those flag."""
RUN_TIMEOUT_SECONDS = 600
WEBSOCKET_OPERATIONS = [
    operation["operationId"]
    for operations in openapi.document()["paths"].values()
    for operation in operations.values()
    if operation.get(WEBSOCKET_EXTENSION)
]
"""Left out: live metrics are a WebSocket upgrade, which schemathesis does not make (it would test a plain
GET's 426); tests/e2e/live connects real WebSocket clients there."""


@dataclass(frozen=True)
class Credentials:
    access_token: str = field(repr=False)
    api_key: str = field(repr=False)
    agent_token: str = field(repr=False)
    team_id: str


@pytest.fixture
def credentials(stack: LocalStack) -> Iterator[Credentials]:
    """A team of its own for the run, on the plan without a daily cap (the stack's own account is the
    other tests'), with a login token, an API key, and the agent token of one running instance. Every
    rent during the run fails to boot, so the instances the run creates end `failed` with no machine."""
    email, password = f"schemathesis-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(16)
    registered = composition.access().register(email, password, plan="enterprise")
    team_id = registered.team_id
    owner = Principal(account_id=registered.account_id, team_id=team_id)
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        login = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        access_token = login.json()["access_token"]
        key = client.post(
            "/api/v1/api-keys",
            json={"name": "schemathesis"},
            headers={"Authorization": f"Bearer {access_token}"},
        )
        assert key.status_code == 201, key.text
        api_key = key.json()["data"]["key"]
    with httpx.Client(base_url=stack.url, headers={"X-API-Key": api_key}, timeout=30) as api:
        created = api.post("/api/v1/instances", json={"gpu_type": "RTX_4090"})
        assert created.status_code == 201, created.text
        instance_id = created.json()["data"]["id"]
        assert wait_for_status(api, instance_id, {"running", "failed"})["status"] == "running"
        wait_for_agent(api, instance_id)
        token = agent_token(stack, machine_of(api, instance_id))
        stack.marketplace.fail_next_boots(100_000, "schemathesis: no machine boots during the run")
        try:
            yield Credentials(access_token=access_token, api_key=api_key, agent_token=token, team_id=team_id)
        finally:
            stack.marketplace.clear_injected_failures()
            delete_every_instance(owner)
            delete_every_webhook(owner)


def delete_every_instance(owner: Principal) -> None:
    """Every instance the run left, deleted through the service as the team's owner: the run may have
    revoked the key or removed the member the HTTP credentials belong to."""
    instances = composition.instances()
    for instance in instances.list_all(owner):
        with contextlib.suppress(InvalidState):
            instances.delete(owner, instance.instance_id)


def delete_every_webhook(owner: Principal) -> None:
    """The run's subscriptions, to hosts that mostly do not exist: left, their deliveries would be retried
    for a day, each looking its host up, ahead of every other test's."""
    webhooks = composition.webhooks()
    for subscription in webhooks.list_subscriptions(owner):
        webhooks.delete(owner, subscription.webhook_id)


def config_file(directory: Path, credentials: Credentials) -> Path:
    """The credentials of each security scheme, which schemathesis sends as each operation declares, and
    the run's own team wherever a team is named (another team's is 403 or 404, all the run would see)."""
    path = directory / "schemathesis.toml"
    path.write_text(
        "[auth]\n"
        "auto-signup = false\n"
        "[auth.openapi.accessToken]\n"
        f'bearer = "{credentials.access_token}"\n'
        "[auth.openapi.apiKey]\n"
        f'api_key = "{credentials.api_key}"\n'
        "[auth.openapi.agentToken]\n"
        f'bearer = "{credentials.agent_token}"\n'
        "[parameters]\n"
        f'"path.team_id" = "{credentials.team_id}"\n'
    )
    return path


def failures_of(output: str) -> str:
    """The errors and failures of schemathesis' report: each operation, case, check and curl command."""
    starts = [found for found in (output.find("= ERRORS ="), output.find("= FAILURES =")) if found >= 0]
    return output[min(starts) :] if starts else output[-20_000:]


def test_every_operation_conforms_to_the_openapi_document(
    stack: LocalStack, credentials: Credentials, tmp_path: Path
) -> None:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_file(tmp_path, credentials)),
        "--no-color",
        "run",
        f"{stack.url}/openapi.json",
        "--url",
        stack.url,
        "--checks",
        ",".join(CHECKS),
        "--phases",
        PHASES,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--generation-deterministic",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        *(f"--exclude-operation-id={operation_id}" for operation_id in WEBSOCKET_OPERATIONS),
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, timeout=RUN_TIMEOUT_SECONDS, check=False
    )
    output = run.stdout + run.stderr
    (tmp_path / "schemathesis.log").write_text(output)
    tested = re.search(r"Operations:\s+(\d+) selected / (\d+) total", output)
    if tested is None or int(tested.group(1)) != int(tested.group(2)) - len(WEBSOCKET_OPERATIONS):
        pytest.fail(f"schemathesis did not test every operation:\n{output[-5_000:]}", pytrace=False)
    if run.returncode != 0:
        pytest.fail(f"{failures_of(output)}\n(whole report: {tmp_path / 'schemathesis.log'})", pytrace=False)
