"""SSH keys (an instance's and the account's), the GPU advisor, the market at a glance, the providers and
the hibernation history, as a caller of either client sees them, against a scripted API."""

from __future__ import annotations

import asyncio

import httpx

from dumont import AsyncClient, Client
from tests.fakes.api_answers import ScriptedApi, envelope

KEY = "dumont_sk_0123456789abcdefghij"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8sPw4wYx0Zq5nN3J1e3rQvX2hQ2x0Y7d9c8f6k5j4h alice@laptop"
SSH_KEY = {
    "id": "key_1",
    "name": "alice@laptop",
    "fingerprint": "256 SHA256:abc alice@laptop (ED25519)",
    "public_key": PUBLIC_KEY,
    "added_at": "2026-12-02T10:00:00Z",
}


def client_for(api: ScriptedApi) -> Client:
    http = httpx.Client(base_url="http://api.test", transport=api.transport())
    return Client(api_key=KEY, base_url="http://api.test", http_client=http)


def async_client_for(api: ScriptedApi) -> AsyncClient:
    http = httpx.AsyncClient(base_url="http://api.test", transport=api.transport())
    return AsyncClient(api_key=KEY, base_url="http://api.test", http_client=http)


def sent(api: ScriptedApi) -> list[str]:
    return [f"{request.method} {request.url.path}" for request in api.requests]


def test_an_instances_ssh_keys_are_listed_added_and_removed() -> None:
    api = ScriptedApi(envelope([SSH_KEY]), envelope(SSH_KEY, 201), envelope(SSH_KEY))
    client = client_for(api)
    assert [key.fingerprint for key in client.instances.ssh_keys("inst_1")] == [SSH_KEY["fingerprint"]]
    added = client.instances.add_ssh_key("inst_1", PUBLIC_KEY, name="laptop")
    assert (added.id, added.public_key) == ("key_1", PUBLIC_KEY)
    assert client.instances.remove_ssh_key("inst_1", "key_1").id == "key_1"
    assert sent(api) == [
        "GET /api/v1/instances/inst_1/ssh-keys",
        "POST /api/v1/instances/inst_1/ssh-keys",
        "DELETE /api/v1/instances/inst_1/ssh-keys/key_1",
    ]
    assert api.body(1) == {"public_key": PUBLIC_KEY, "name": "laptop"}
    assert api.requests[1].headers["Idempotency-Key"]


def test_the_accounts_ssh_keys_are_listed_added_and_removed() -> None:
    api = ScriptedApi(envelope(SSH_KEY, 201), envelope([SSH_KEY]), envelope(SSH_KEY))
    client = client_for(api)
    assert client.ssh_keys.add(PUBLIC_KEY).name == "alice@laptop"
    assert [key.id for key in client.ssh_keys.list()] == ["key_1"]
    assert client.ssh_keys.remove("key_1").id == "key_1"
    assert sent(api) == ["POST /api/v1/ssh-keys", "GET /api/v1/ssh-keys", "DELETE /api/v1/ssh-keys/key_1"]
    assert api.body(0) == {"public_key": PUBLIC_KEY}


def test_the_advisor_answers_a_gpu_and_the_reason_or_none_with_the_reason() -> None:
    advice = {
        "recommended_gpu": "RTX 4090",
        "reasoning": "fits at $0.34/hour",
        "estimated_time": "3 hours",
        "total_cost": "$1.02",
        "recommendation": {"gpu_type": "RTX_4090", "price_per_hour": 0.34},
        "memory_needed_gb": 20.2,
        "memory_rule": "7B parameters x 2 bytes",
        "understood": {"action": "fine-tune"},
        "alternatives": [],
    }
    nothing = {**advice, "recommended_gpu": None, "reasoning": "nothing under $0.05/hour fits"}
    api = ScriptedApi(httpx.Response(200, json=advice), httpx.Response(200, json=nothing))
    client = client_for(api)
    found = client.advisor.recommend_gpu("fine-tune llama2-7b", dataset_size="50GB")
    assert (found.recommended_gpu, found.memory_needed_gb) == ("RTX 4090", 20.2)
    assert found.recommendation.price_per_hour == 0.34
    assert api.body(0) == {"task": "fine-tune llama2-7b", "dataset_size": "50GB"}
    too_little = client.advisor.recommend_gpu("fine-tune llama2-7b", budget_per_hour=0.05)
    assert too_little.recommended_gpu is None and "nothing" in too_little.reasoning
    assert sent(api) == ["POST /api/ai/recommend-gpu"] * 2


def test_the_market_at_a_glance_and_the_providers() -> None:
    summary = {
        "timestamp": "2026-12-02T10:00:00Z",
        "total_gpus_available": 42,
        "avg_price_change_24h": -3.5,
        "trending_gpus": ["H100"],
    }
    providers = {"providers": [{"name": "Vast.ai", "reliability_score": 0.93, "uptime_percent": None}]}
    api = ScriptedApi(httpx.Response(200, json=summary), httpx.Response(200, json=providers))
    client = client_for(api)
    market = client.market.summary()
    assert (market.total_gpus_available, market.trending_gpus) == (42, ["H100"])
    [vast] = client.market.providers()
    assert (vast.name, vast.reliability_score, vast.uptime_percent) == ("Vast.ai", 0.93, None)
    assert sent(api) == ["GET /api/metrics/market", "GET /api/metrics/providers"]


def test_the_hibernation_history_over_the_days_asked_for() -> None:
    history = {
        "events": [{"instance_id": "inst_1", "reason": "idle", "savings_per_hour": 0.44, "saved": 1.32}],
        "total_savings": 1.32,
    }
    api = ScriptedApi(httpx.Response(200, json=history))
    found = client_for(api).instances.hibernation_history(days=30)
    assert found.total_savings == 1.32
    assert [event.reason for event in found.events] == ["idle"]
    assert api.requests[0].url.path == "/api/metrics/hibernation/events"
    assert api.requests[0].url.params["days"] == "30"


def test_operators_grant_credits_and_change_a_teams_plan() -> None:
    receipt = {"payment_id": "pay_1", "amount": 100.0, "status": "confirmed", "balance": 100.0}
    plan = {
        "team_id": "team_1",
        "plan": "pro",
        "previous_plan": "free",
        "changed": True,
        "requests_per_minute": 300,
        "requests_per_day": 10000,
        "members": 2,
    }
    api = ScriptedApi(envelope(receipt, 201), envelope(plan))
    client = client_for(api)
    assert client.billing.grant("team_1", 100.0, note="pilot").balance == 100.0
    changed = client.teams.change_plan("team_1", "pro")
    assert (changed.plan, changed.previous_plan, changed.requests_per_minute) == ("pro", "free", 300)
    assert sent(api) == ["POST /api/v1/billing/grants", "PATCH /api/v1/teams/team_1/plan"]
    assert api.body(0) == {"team_id": "team_1", "amount": 100.0, "note": "pilot"}
    assert api.body(1) == {"plan": "pro"}


def test_the_async_client_reaches_the_same_routes() -> None:
    api = ScriptedApi(
        envelope([SSH_KEY]),
        envelope(SSH_KEY, 201),
        httpx.Response(200, json={"events": [], "total_savings": 0.0}),
        httpx.Response(200, json={"providers": []}),
    )

    async def scenario() -> None:
        async with async_client_for(api) as client:
            assert [key.id for key in await client.ssh_keys.list()] == ["key_1"]
            assert (await client.instances.add_ssh_key("inst_1", PUBLIC_KEY)).id == "key_1"
            assert (await client.instances.hibernation_history()).total_savings == 0.0
            assert await client.market.providers() == []

    asyncio.run(scenario())
    assert sent(api) == [
        "GET /api/v1/ssh-keys",
        "POST /api/v1/instances/inst_1/ssh-keys",
        "GET /api/metrics/hibernation/events",
        "GET /api/metrics/providers",
    ]


def test_a_team_sets_its_low_balance_threshold_and_goes_back_to_the_default() -> None:
    api = ScriptedApi(
        envelope({"low_balance_threshold": 25.0, "default_threshold": False}),
        envelope({"low_balance_threshold": 10.0, "default_threshold": True}),
    )
    client = client_for(api)
    assert client.billing.set_low_balance_threshold(25).low_balance_threshold == 25.0
    assert client.billing.set_low_balance_threshold(None).default_threshold is True
    assert sent(api) == ["PATCH /api/v1/billing/settings", "PATCH /api/v1/billing/settings"]
    assert api.body(0) == {"low_balance_threshold": 25}
    assert api.body(1) == {"low_balance_threshold": None}
