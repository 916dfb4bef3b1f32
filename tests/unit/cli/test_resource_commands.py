"""The `dumont` commands for failover drills, price history, webhook tests and deliveries, serverless
mode, teams, API keys, SSH keys and billing: each sends its request and prints clean JSON on stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from dumont_cli import exit_codes
from tests.fakes.api_answers import ScriptedApi, envelope, error
from tests.unit.cli.conftest import invoke

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"
SSH_KEY = {"id": "key_1", "name": "laptop", "fingerprint": "256 SHA256:abc", "public_key": PUBLIC_KEY}
DELIVERY = {"id": "dlv_1", "webhook_id": "wh_1", "event": "ping", "status": "delivered", "attempts": 1}
SERVERLESS = {"instance_id": "inst_1", "enabled": True, "state": "watching", "idle_timeout_minutes": 30}
MEMBER = {"account_id": "acct_1", "email": "ana@example.com", "role": "admin"}
TEAM = {"id": "team_1", "name": "research", "plan": "pro", "role": "admin", "current": True}
API_KEY = {"id": "key_9", "name": "ci", "prefix": "dumont_sk_ab12", "created_at": "2026-12-02T10:00:00Z"}
PRICE_HISTORY = {
    "gpu_type": "RTX_4090",
    "period": "7d",
    "interval": "1d",
    "region": None,
    "points": [{"timestamp": "2026-12-01T00:00:00Z", "on_demand": {"lowest": 0.3, "median": 0.4}}],
}
BILLING_LINE = {"date": "2026-12-01", "kind": "charge", "instance_id": "inst_1", "amount": 1.2}


def page(items: list[dict[str, Any]]) -> httpx.Response:
    return envelope(items, meta={"page": 1, "per_page": 100, "total": len(items)})


CASES = [
    (["failover", "trigger", "inst_1"], envelope({"instance_id": "inst_1", "status": "failing_over"}),
     "POST /api/v1/failover/trigger/inst_1", lambda out: out["status"] == "failing_over"),
    (["market", "history", "RTX4090", "--period", "7d", "--interval", "1d"], envelope(PRICE_HISTORY),
     "GET /api/v1/market/history", lambda out: out["points"][0]["on_demand"]["lowest"] == 0.3),
    (["webhooks", "test", "wh_1"], envelope(DELIVERY),
     "POST /api/v1/webhooks/wh_1/test", lambda out: out["status"] == "delivered"),
    (["webhooks", "deliveries", "wh_1", "--limit", "5"], envelope([DELIVERY]),
     "GET /api/v1/webhooks/wh_1/deliveries", lambda out: out["deliveries"][0]["id"] == "dlv_1"),
    (["serverless", "enable", "inst_1", "--idle-timeout", "30"], envelope(SERVERLESS),
     "POST /api/v1/serverless/enable", lambda out: out["enabled"] is True),
    (["serverless", "disable", "inst_1"], envelope({**SERVERLESS, "enabled": False}),
     "POST /api/v1/serverless/disable", lambda out: out["enabled"] is False),
    (["serverless", "status", "inst_1"], envelope(SERVERLESS),
     "GET /api/v1/serverless/status/inst_1", lambda out: out["state"] == "watching"),
    (["teams", "list"], envelope([TEAM]), "GET /api/v1/teams", lambda out: out["teams"][0]["id"] == "team_1"),
    (["teams", "show", "team_1"], envelope({**TEAM, "members": [MEMBER]}),
     "GET /api/v1/teams/team_1", lambda out: out["members"][0]["email"] == "ana@example.com"),
    (["teams", "members", "team_1"], envelope([MEMBER]),
     "GET /api/v1/teams/team_1/members", lambda out: out["members"][0]["role"] == "admin"),
    (["api-keys", "list"], envelope([API_KEY]), "GET /api/v1/api-keys",
     lambda out: out["api_keys"][0]["prefix"] == "dumont_sk_ab12"),
    (["api-keys", "create", "ci"], envelope({**API_KEY, "key": "dumont_sk_ab12full"}, 201),
     "POST /api/v1/api-keys", lambda out: out["key"] == "dumont_sk_ab12full"),
    (["api-keys", "delete", "key_9"], envelope({**API_KEY, "revoked_at": "2026-12-02T11:00:00Z"}),
     "DELETE /api/v1/api-keys/key_9", lambda out: out["revoked_at"] is not None),
    (["ssh-keys", "list"], envelope([SSH_KEY]), "GET /api/v1/ssh-keys",
     lambda out: out["ssh_keys"][0]["id"] == "key_1"),
    (["ssh-keys", "list", "--instance", "inst_1"], envelope([SSH_KEY]),
     "GET /api/v1/instances/inst_1/ssh-keys", lambda out: out["ssh_keys"][0]["id"] == "key_1"),
    (["ssh-keys", "add", PUBLIC_KEY, "--instance", "inst_1"], envelope(SSH_KEY, 201),
     "POST /api/v1/instances/inst_1/ssh-keys", lambda out: out["fingerprint"] == "256 SHA256:abc"),
    (["ssh-keys", "remove", "key_1"], envelope(SSH_KEY), "DELETE /api/v1/ssh-keys/key_1",
     lambda out: out["id"] == "key_1"),
    (["ssh-keys", "remove", "key_1", "--instance", "inst_1"], envelope(SSH_KEY),
     "DELETE /api/v1/instances/inst_1/ssh-keys/key_1", lambda out: out["id"] == "key_1"),
    (["billing", "history", "--since", "2026-11-01"], page([BILLING_LINE]),
     "GET /api/v1/billing/history", lambda out: out["lines"][0]["amount"] == 1.2),
]  # fmt: skip


@pytest.mark.parametrize(("args", "answer", "request_line", "check"), CASES, ids=lambda v: None)
def test_each_command_sends_its_request_and_prints_clean_json(
    scripted: ScriptedApi, args: list[str], answer: httpx.Response, request_line: str, check: Any
) -> None:
    scripted.answers.append(answer)
    code, out, err = invoke(*args, "--output", "json")
    assert code == 0, err
    assert check(json.loads(out))
    sent = scripted.requests[0]
    assert f"{sent.method} {sent.url.path}" == request_line


def test_filters_and_settings_reach_the_api(scripted: ScriptedApi) -> None:
    scripted.answers += [envelope(PRICE_HISTORY), envelope(SERVERLESS), page([BILLING_LINE])]
    invoke("market", "history", "RTX4090", "--period", "7d", "--region", "us-east")
    invoke("serverless", "enable", "inst_1", "--idle-timeout", "30", "--gpu-threshold", "5")
    invoke("billing", "history", "--instance", "inst_1", "--until", "2026-12-01")
    history, _, billing = scripted.requests
    assert dict(history.url.params) == {"gpu_type": "RTX4090", "region": "us-east", "period": "7d"}
    assert scripted.body(1) == {"instance_id": "inst_1", "idle_timeout_minutes": 30.0, "gpu_threshold": 5.0}
    assert billing.url.params["instance_id"] == "inst_1" and billing.url.params["until"] == "2026-12-01"


def test_an_ssh_key_is_read_from_its_pub_file_onto_the_account(scripted: ScriptedApi, tmp_path: Path) -> None:
    pub = tmp_path / "id_ed25519.pub"
    pub.write_text(PUBLIC_KEY + "\n")
    scripted.answers.append(envelope(SSH_KEY, 201))
    code, out, _ = invoke("ssh-keys", "add", str(pub), "--name", "laptop", "--output", "json")
    assert code == 0 and json.loads(out)["id"] == "key_1"
    assert scripted.requests[0].url.path == "/api/v1/ssh-keys"
    assert scripted.body(0) == {"public_key": PUBLIC_KEY, "name": "laptop"}


def test_add_credits_prints_where_to_pay_on_stderr_and_the_receipt_on_stdout(scripted: ScriptedApi) -> None:
    receipt = {"payment_id": "pay_1", "amount": 50.0, "status": "pending", "balance": 10.0,
               "checkout_url": "https://checkout.example/pay_1"}  # fmt: skip
    scripted.answers.append(envelope(receipt, 201))
    code, out, err = invoke("billing", "add-credits", "50", "--output", "json")
    assert code == 0
    assert json.loads(out)["checkout_url"] == receipt["checkout_url"]
    assert "Pay at https://checkout.example/pay_1" in err
    assert scripted.body(0) == {"amount": 50.0}
    assert scripted.requests[0].headers["Idempotency-Key"]


def test_the_new_commands_keep_the_documented_exit_codes(scripted: ScriptedApi) -> None:
    scripted.answers += [
        error(404, "WEBHOOK_NOT_FOUND", "no webhook wh_9 in your team"),
        error(403, "FORBIDDEN", "your role lacks api_keys.create"),
        error(409, "INVALID_STATE", "inst_1 is hibernated"),
    ]
    assert invoke("webhooks", "test", "wh_9", "--output", "json")[:2] == (exit_codes.NOT_FOUND, "")
    assert invoke("api-keys", "create", "ci", "--output", "json")[:2] == (exit_codes.NOT_AUTHENTICATED, "")
    assert invoke("failover", "trigger", "inst_1", "--output", "json")[:2] == (exit_codes.CONFLICT, "")


def test_the_tables_show_what_json_shows(scripted: ScriptedApi) -> None:
    scripted.answers += [envelope([TEAM]), envelope([SSH_KEY]), page([BILLING_LINE]), envelope(PRICE_HISTORY)]
    assert "research" in invoke("teams", "list")[1]
    assert "256 SHA256:abc" in invoke("ssh-keys", "list")[1]
    assert "charge" in invoke("billing", "history")[1]
    assert "0.3" in invoke("market", "history", "RTX4090")[1]
