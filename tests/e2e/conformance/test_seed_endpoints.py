"""Every HTTP endpoint the seeds document, 67 of them (method and path; seed 002's two demo calls and its
demo app counted as their own), called as its seed shows it (body, query) on the e2e tests' one local stack,
and its answer checked for the fields that seed shows, in the v1 envelope or the legacy shape. A route that
drifts from its document fails.

The table reads: endpoint -> the seeds that document it -> how it is called (`calls`) -> the fields checked
(`a.b` nested, `a[].b` in every item of a list, which must not be empty) -> the status, where a seed gives
one (any 2xx otherwise). Where a seed lists a route without its query and the route needs one (the market's
GPU type), the documented minimum is sent and the row says so. Endpoints other open issues still build are
expected to fail, strictly: they must pass once that work lands. Where a seed shows a value, its shape is
checked too (`values`): not null, a number, a time, sizes and speeds in decimal units ("45GB", "5.4MB",
"1.2GB/s"), regions spelt "US-East", and the enums the seeds show ("creating", "bearer").

The table is written out by hand: the seeds themselves are not part of the repository (only the snippets
the SDK tests run are), so the list of endpoints cannot be read from their `METHOD /path` lines here; its
count is checked instead.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conformance import calls as c
from tests.e2e.conformance.calls import NUMBER, PRESENT, SHOWN_REGION, SIZE, SPEED, TIME, equal, items, v1
from tests.e2e.conformance.calls import Endpoint as E
from tests.e2e.conformance.conftest import World

pytestmark = pytest.mark.e2e

V1 = c.V1
DETAIL, LISTED, MACHINE = c.INSTANCE_DETAIL_004, c.INSTANCE_LIST_004, c.MACHINE_002
PREDICTIONS = tuple(
    f"predictions.{at}.{name}"
    for at in ("next_1h", "next_6h", "next_24h")
    for name in ("price", "confidence")
)
SUMMARY = (
    "period",
    "total_hours",
    "total_cost_dumont",
    "total_cost_aws",
    "savings_vs_aws",
    "savings_percentage",
)
METRICS = ("timestamp", "gpu_utilization", "gpu_memory_used_gb", "cpu_utilization", "ram_used_gb")
COMPARISON = ("gpu_type", "dumont_hourly", "aws_hourly", "gcp_hourly", "azure_hourly", "savings_per_hour")
INSTANCE = "/api/v1/instances/{world.instance}"
LISTED_VALUES = (("data[].status", PRESENT), ("data[].cost_per_hour", NUMBER), ("data[].created_at", TIME))
MACHINE_VALUES = (
    ("machines[].region", SHOWN_REGION),
    ("machines[].cost_per_hour", NUMBER),
    ("machines[].status", PRESENT),
    ("machines[].gpu_name", PRESENT),
)
CREATED_002 = (("status", equal("creating")), ("gpu_name", equal("RTX 4090")), ("estimated_ready", TIME))

# fmt: off
ENDPOINTS: tuple[E, ...] = (
    # An instance and what hangs off it (seeds 000, 001, 004).
    E("GET", "/api/v1/instances", "000, 001, 004", c.list_v1,
      (*V1, *items("data", *LISTED, "gpu", "ip"), "meta.page", "meta.per_page", "meta.total"),
      values=LISTED_VALUES),
    E("POST", "/api/v1/instances", "000, 001, 004", c.create_v1,
      v1("id", "status", "estimated_ready_seconds"), 201,
      values=(("data.status", equal("starting")), ("data.estimated_ready_seconds", NUMBER))),
    E("GET", "/api/v1/instances/{id}", "000, 001, 004", c.get(INSTANCE), v1(*DETAIL),
      values=(("data.status", PRESENT), ("data.cost_per_hour", NUMBER), ("data.created_at", TIME))),
    E("GET", "/api/v1/instances/{id}/metrics", "004", c.metrics_reported,
      ("instance_id", "period", *items("data", *METRICS))),
    E("POST", "/api/v1/instances/{id}/ssh-keys", "004",
      c.post(INSTANCE + "/ssh-keys", {"name": "my-laptop", "public_key": c.SSH_KEY_004}),
      v1("id", "name"), 201),
    E("GET", "/api/v1/instances/{id}/ssh-keys", "004", c.get(INSTANCE + "/ssh-keys"),
      (*V1, *items("data", "id", "name"))),
    E("DELETE", "/api/v1/instances/{id}/ssh-keys/{key_id}", "004", c.ssh_key_removed, v1("id")),
    E("GET", "/api/v1/instances/{id}/logs", "004", c.get(INSTANCE + "/logs", lines=100), V1),
    E("GET", "/api/v1/instances/{id}/events", "004", c.get(INSTANCE + "/events"),
      (*V1, *items("data.events", "type", "timestamp", "details"))),
    E("POST", "/api/v1/instances/{id}/stop", "000, 001, 004", c.power("stop"), v1("id", "status")),
    E("POST", "/api/v1/instances/{id}/start", "000, 001, 004", c.power("start"), v1("id", "status")),
    E("POST", "/api/v1/instances/{id}/reboot", "000, 004", c.power("reboot"), v1("id", "status")),
    # Snapshots (seeds 000, 002, 003).
    E("POST", "/api/v1/snapshots", "000", c.answer_of("snapshot"), v1("id", "status")),
    E("GET", "/api/v1/snapshots", "000", c.get("/api/v1/snapshots"), (*V1, *items("data", "id", "status"))),
    E("GET", "/api/v1/snapshots/{id}", "000", c.get("/api/v1/snapshots/{world.snapshot}"),
      v1("id", "status")),
    E("POST", "/api/snapshots", "002, 003",
      c.answer_of("legacy_snapshot"), ("snapshot_id", "status", "estimated_size"), 202,
      values=(("status", PRESENT), ("estimated_size", SIZE))),
    E("GET", "/api/snapshots/{snapshot_id}", "002", c.legacy_snapshot_read,
      ("snapshot_id", "status", "size", "compression_ratio", "upload_speed"),
      # The suite's workspaces are empty: their compression ratio is rightly null, so only its key is checked.
      values=(("status", equal("completed")), ("size", SIZE), ("upload_speed", SPEED))),
    E("DELETE", "/api/v1/snapshots/{id}", "000", c.legacy_snapshot_deleted, V1),
    # Serverless (seed 000), hibernation (002, 003) and the events it leaves (002).
    E("POST", "/api/v1/serverless/enable", "000", c.serverless("enable"), V1),
    E("GET", "/api/v1/serverless/status/{id}", "000", c.get("/api/v1/serverless/status/{world.instance}"),
      V1),
    E("POST", "/api/v1/serverless/disable", "000", c.serverless("disable"), V1),
    E("POST", "/api/v1/serverless/pause/{id}", "000", c.serverless("pause"), V1),
    E("POST", "/api/v1/serverless/resume/{id}", "000", c.serverless("resume"), V1),
    E("POST", "/api/instances/{instance_id}/hibernate", "002, 003",
      c.hibernate_legacy, ("message", "savings_per_hour"), values=(("savings_per_hour", NUMBER),)),
    E("POST", "/api/instances/{instance_id}/wake", "002", c.wake_legacy, ("message", "estimated_ready"),
      values=(("estimated_ready", TIME),)),
    E("GET", "/api/metrics/hibernation/events", "002",
      c.until_listed("/api/metrics/hibernation/events", "events", days=7),
      (*items("events", "instance_id", "timestamp", "reason", "savings_per_hour"), "total_savings")),
    # Failover (seed 000): configured, then drilled from a completed snapshot; then a restore with no body.
    E("GET", "/api/v1/failover/status/{id}", "000", c.get("/api/v1/failover/status/{world.instance}"), V1),
    E("POST", "/api/v1/failover/configure", "000", c.failover_configured, V1),
    E("POST", "/api/v1/failover/trigger/{id}", "000", c.drilled, V1),
    E("POST", "/api/v1/snapshots/{id}/restore", "000", c.restored, V1),
    # The market (seeds 000, 001, 002), savings (002) and the GPU advisor (002).
    E("GET", "/api/v1/market/prices", "000", c.get("/api/v1/market/prices"), V1),
    E("GET", "/api/v1/market/history", "000 (gpu_type sent)",
      c.get("/api/v1/market/history", gpu_type="RTX_4090"), V1),
    E("GET", "/api/v1/market/predictions", "000 (gpu_type sent)",
      c.get("/api/v1/market/predictions", gpu_type="RTX_4090"), V1),
    E("GET", "/api/v1/offers", "001", c.get("/api/v1/offers"), V1),
    E("GET", "/api/v1/offers/{gpu}", "001", c.get("/api/v1/offers/RTX 4090"), V1),
    E("GET", "/api/metrics/market", "002", c.get("/api/metrics/market"),
      ("timestamp", "total_gpus_available", "avg_price_change_24h", "trending_gpus")),
    E("GET", "/api/metrics/providers", "002", c.get("/api/metrics/providers"),
      items("providers", "name", "reliability_score", "avg_price", "uptime_percent")),
    E("GET", "/api/metrics/predictions/{gpu_name}", "002", c.get("/api/metrics/predictions/RTX 4090"),
      ("gpu_name", "current_price", "recommendation", "model_accuracy", *PREDICTIONS)),
    E("GET", "/api/savings/dashboard", "002, 003", c.get("/api/savings/dashboard"),
      ("total_saved_usd", "monthly_burn", "aws_equivalent", "savings_percent", "roi_percent")),
    E("GET", "/api/savings/summary", "002", c.get("/api/savings/summary", period="month"),
      (*SUMMARY, "roi_percent", "auto_hibernate_savings")),
    E("GET", "/api/savings/history", "002", c.get("/api/savings/history", months=6),
      items("history", "month", "savings_vs_aws")),
    E("GET", "/api/savings/breakdown", "002", c.until_listed("/api/savings/breakdown", "breakdown_by_gpu"),
      items("breakdown_by_gpu", "gpu_type", "hours", "cost_dumont", "cost_aws", "savings")),
    E("GET", "/api/savings/comparison/{gpu_type}", "002", c.get("/api/savings/comparison/RTX 4090"),
      (*COMPARISON, "savings_percent")),
    E("POST", "/api/ai/recommend-gpu", "002", c.post("/api/ai/recommend-gpu", c.ADVICE_002),
      ("recommended_gpu", "reasoning", "estimated_time", "total_cost")),
    # Money (seed 001).
    E("GET", "/api/v1/balance", "001", c.get("/api/v1/balance"), V1),
    E("GET", "/api/v1/billing/history", "001", c.get("/api/v1/billing/history"), V1),
    E("POST", "/api/v1/billing/add-credits", "001", c.post("/api/v1/billing/add-credits", {"amount": 10}),
      V1),
    # Accounts, teams and roles (seeds 000, 002), webhooks (000, 003).
    E("POST", "/api/v1/auth/login", "000", c.login("/api/v1/auth/login"),
      ("access_token", "token_type", "expires_in"),
      values=(("access_token", PRESENT), ("token_type", equal("bearer")), ("expires_in", NUMBER))),
    E("POST", "/api/auth/login", "002", c.login("/api/auth/login"), ("access_token",)),
    E("GET", "/api/v1/teams", "000", c.get("/api/v1/teams"), (*V1, *items("data", "id", "name"))),
    E("POST", "/api/v1/teams", "000", c.answer_of("team"), v1("id", "name"), 201),
    E("POST", "/api/v1/teams/{id}/members", "000", c.member_added, V1),
    E("GET", "/api/v1/roles", "000", c.get("/api/v1/roles"), (*V1, *items("data", "name", "permissions"))),
    E("POST", "/api/v1/roles", "000", c.role_created, v1("name", "permissions")),
    E("POST", "/api/v1/webhooks", "000", c.webhook("/api/v1/webhooks", c.WEBHOOK_000),
      v1("id", "url", "events")),
    E("POST", "/api/webhooks", "003", c.webhook("/api/webhooks", c.WEBHOOK_003)),
    # The agent (seed 002).
    E("POST", "/api/agent/status", "002", c.agent_status,
      ("success", "next_heartbeat_in_seconds", "actions"), values=(("next_heartbeat_in_seconds", NUMBER),)),
    E("GET", "/api/agent/instances", "002", c.get("/api/agent/instances"),
      items("instances", "instance_id", "last_heartbeat", "health", "gpu_utilization")),
    E("WEBSOCKET", "/ws/instance/{instance_id}/metrics", "002", c.websocket, (), 101),
    # Legacy machines (seeds 002, 003), demo mode (002, 003), the documentation (002).
    E("GET", "/api/machines", "002, 003", c.get("/api/machines"), items("machines", *MACHINE),
      values=MACHINE_VALUES),
    E("POST", "/api/instances", "002, 003", c.create_legacy,
      ("instance_id", "id", "status", "gpu_name", "ip", "estimated_ready"), 201, values=CREATED_002),
    E("GET", "/api/machines?demo=true", "002, 003", c.anonymous("GET", "/api/machines", demo="true"),
      items("machines", *MACHINE), values=MACHINE_VALUES),
    E("POST", "/api/instances?demo=true", "002",
      c.anonymous("POST", "/api/instances", {"gpu_type": "RTX 4090", "region": "US-East"}, demo="true"),
      ("instance_id", "status", "estimated_ready"), 201, values=CREATED_002),
    E("GET", "/demo-app", "002", c.anonymous("GET", "/demo-app"), (), 200),
    E("GET", "/docs", "002", c.anonymous("GET", "/docs"), (), 200),
    # Last, the instances made above are deleted through the documented routes.
    E("DELETE", "/api/v1/instances/{id}", "000, 001, 004", c.deleted("/api/v1/instances/{}", "power"),
      v1("id", "status")),
    E("DELETE", "/api/instances/{instance_id}", "002", c.deleted("/api/instances/{}", "sleeper"),
      ("message", "final_cost"), values=(("final_cost", NUMBER),)),
)
# fmt: on


def _param(endpoint: E) -> Any:
    failure = endpoint.expected_failure
    marks = [pytest.mark.xfail(reason=failure, strict=True)] if failure else []
    return pytest.param(endpoint, id=f"{endpoint.method} {endpoint.path}", marks=marks)


def test_the_table_holds_every_documented_endpoint_once() -> None:
    assert len({(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}) == len(ENDPOINTS) == 67


def test_a_value_unlike_the_seeds_is_told_apart_from_one_like_them() -> None:
    """The shapes the table checks: what seed 002 shows passes, what drifted from it does not."""
    shown = {"estimated_size": "45GB", "size": "5.4MB", "upload_speed": "1.2GB/s", "region": "US-East"}
    drifted = {"estimated_size": None, "size": "5.1MiB", "upload_speed": "38.2 MB/s", "region": "us-east"}
    checks = (("estimated_size", SIZE), ("size", SIZE), ("upload_speed", SPEED), ("region", SHOWN_REGION))

    assert c.wrong_values(shown, checks) == []
    assert len(c.wrong_values(drifted, checks)) == 4
    listed = {"machines": [{"status": "running"}, {"status": None}], "token_type": "Bearer"}
    assert c.wrong_values(listed, (("machines[].status", PRESENT), ("token_type", equal("bearer")))) == [
        "machines[].status is None, not not null",
        "token_type is 'Bearer', not 'bearer'",
    ]


@pytest.mark.parametrize("endpoint", [_param(endpoint) for endpoint in ENDPOINTS])
def test_the_endpoint_answers_as_its_seed_documents(world: World, endpoint: E) -> None:
    answer = endpoint.call(world)

    if endpoint.status is not None:
        assert answer.status_code == endpoint.status, answer.text
    else:
        assert 200 <= answer.status_code < 300, answer.text
    body = answer.json() if endpoint.fields else None
    gaps = sorted({gap for path in endpoint.fields for gap in c.missing(body, path)})
    assert not gaps, f"{endpoint.method} {endpoint.path} (seed {endpoint.seeds}) lacks {gaps}: {body}"
    wrong = c.wrong_values(body, endpoint.values)
    assert not wrong, f"{endpoint.method} {endpoint.path} (seed {endpoint.seeds}): {wrong}: {body}"
