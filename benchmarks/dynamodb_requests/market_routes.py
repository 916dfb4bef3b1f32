"""The market routes on the local stack's price history, the live offers and the GPU advisor, and what
one run of the price collector costs: its provider calls and DynamoDB requests."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from benchmarks.dynamodb_requests import counting
from benchmarks.dynamodb_requests.client import BenchClient
from dumont_core import composition
from dumont_core.market.collector import DAILY_PROVIDER
from dumont_core.market.repository import day_of
from dumont_core.platform.clock import utc_now
from local_stack.stack import LocalStack

HISTORY_WAIT_SECONDS = 300.0
YEAR_DAYS = 365
HISTORY_GPU_TYPE = "RTX_4090"
COLLECTOR_REQUEST_LIMIT = 2
"""A run that rolls up no hour: the rollup mark read, and one transaction of its points and the latest
prices. A run that does roll an hour up adds a query per GPU type and one transaction."""


def exercise_market(client: BenchClient, stack: LocalStack) -> None:
    assert stack.market_history is not None
    if not stack.market_history.wait(HISTORY_WAIT_SECONDS):
        raise RuntimeError("the local stack's price history was not made in time")
    seed_a_year_of_days()
    client.measure("GET", "/api/v1/market/prices")
    client.measure(
        "GET",
        "/api/v1/market/prices",
        case="?gpu_type&region",
        query={"gpu_type": "RTX_4090", "region": "us-east"},
    )
    for period, interval in (("24h", "5m"), ("7d", "1h"), ("1y", "1d")):
        client.measure(
            "GET",
            "/api/v1/market/history",
            case=f"?period={period}&interval={interval}" + (" (a year of days)" if period == "1y" else ""),
            query={"gpu_type": HISTORY_GPU_TYPE, "period": period, "interval": interval},
        )
    client.measure("GET", "/api/v1/market/predictions", query={"gpu_type": "RTX_4090"})
    client.measure("GET", "/api/metrics/predictions/RTX_4090")
    client.measure("GET", "/api/metrics/market")
    client.measure("GET", "/api/metrics/providers")
    client.measure("GET", "/api/v1/offers", query={"region": "us-east", "interruptible": "true"})
    client.measure("GET", "/api/v1/offers/RTX_4090", query={"sort": "reliability"})
    client.measure(
        "POST",
        "/api/ai/recommend-gpu",
        body={"task": "fine-tune llama2-7b", "dataset_size": "50GB", "budget_per_hour": 1.0},
    )


def seed_a_year_of_days() -> None:
    """Daily rollups for the year before the stack's week of history, at today's prices: the local stack
    cannot make a year of collections, and a year's history must still be one page of days."""
    repository = composition.market_repository()
    latest = next(point for point in repository.latest() if point.gpu_type == HISTORY_GPU_TYPE)
    today = day_of(utc_now())
    repository.record_days(
        [
            latest.model_copy(update={"provider": DAILY_PROVIDER, "at": today - timedelta(days=back)})
            for back in range(8, YEAR_DAYS + 1)
        ]
    )


COLLECTOR_LINES: list[str] = []
"""What `collector_cost` measured in this run, for the report."""


def collector_cost() -> str:
    """One run of the price collector, counted; a line for the report, FAIL when past its target."""
    calls: counting.AwsCalls = Counter()
    counting._counting.counter = calls
    try:
        report = composition.price_collector().collect()
    finally:
        counting._counting.counter = None
    dynamodb = Counter({op: n for (service, op), n in calls.items() if service == "dynamodb"})
    total = sum(dynamodb.values())
    over = report.hours_rolled_up == 0 and total > COLLECTOR_REQUEST_LIMIT
    verdict = "FAIL" if over or dynamodb["Scan"] or report.gaps else "ok"
    operations = ", ".join(f"{op} {n}" for op, n in sorted(dynamodb.items()))
    line = (
        f"  Price collector, one run: {report.provider_calls} provider calls, {total} DynamoDB requests "
        f"({operations}), {report.points} points, {report.hours_rolled_up} hours rolled up: {verdict} "
        f"(target ≤ {COLLECTOR_REQUEST_LIMIT} requests when no hour ends)"
    )
    COLLECTOR_LINES.append(line)
    return line
