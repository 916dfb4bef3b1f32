"""The report of DynamoDB requests per API request: a row a measured request, a row a route never
measured, and whether every target holds."""

from __future__ import annotations

from collections import Counter

from benchmarks.dynamodb_requests.market_routes import COLLECTOR_LINES
from benchmarks.dynamodb_requests.verdicts import TARGETS, Measurement
from benchmarks.report import heading, legend, table
from infra.topology import API_ROUTES

HEADERS = [
    "route",
    "case",
    "status",
    "DynamoDB operations",
    "total",
    "authorizer",
    "other AWS calls",
    "verdict",
]
EXPLANATIONS = [
    ("route", "method and path template as deployed (infra.topology.API_ROUTES)"),
    ("case", "what differs from the route's plain request: query string, data present, or outcome"),
    ("status", "HTTP status the API answered (the expected one, or the verdict says otherwise)"),
    ("DynamoDB operations", "DynamoDB requests made by the API function for this request, by operation"),
    ("total", "number of DynamoDB requests the API function made in all"),
    (
        "authorizer",
        "DynamoDB requests of the authorizer that ran before the route (— for public routes): one "
        "conditional UpdateItem checks the credential and counts the request against the plan",
    ),
    (
        "other AWS calls",
        "calls to other AWS services in the same request (EventBridge, Step Functions, S3, CloudWatch "
        "Logs, API Gateway)",
    ),
    ("verdict", f"against the targets: {TARGETS}"),
]


def _operations(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" if n > 1 else name for name, n in sorted(counts.items())) or "—"


def _row(m: Measurement) -> list[str]:
    verdict = "FAIL: " + "; ".join(m.problems) if m.problems else f"ok (≤ {m.limit})"
    return [
        f"{m.route.method} {m.route.path}",
        m.case,
        str(m.status),
        _operations(m.dynamodb),
        str(m.total),
        "—" if m.authorizer_dynamodb is None else _operations(m.authorizer_dynamodb),
        _operations(m.others),
        verdict,
    ]


def render(measurements: list[Measurement]) -> tuple[str, bool]:
    """The report, and whether every target holds and every route was measured."""
    rows = [_row(m) for m in measurements]
    measured = {m.route for m in measurements}
    for route in API_ROUTES:
        if route not in measured:
            rows.append([f"{route.method} {route.path}", "", "", "", "", "", "", "FAIL: route not measured"])
    ok = (
        all(not m.problems for m in measurements)
        and measured >= set(API_ROUTES)
        and not any("FAIL" in line for line in COLLECTOR_LINES)
    )
    failed = sum(1 for row in rows if row[-1].startswith("FAIL"))
    summary = (
        f"  All {len(rows)} requests within the targets ({TARGETS})."
        if ok
        else f"  FAILED: {failed} of {len(rows)} rows break the targets ({TARGETS}) or were not measured."
    )
    text = "\n".join(
        [
            heading("2. DynamoDB requests per API request"),
            table(HEADERS, rows, right=(2, 4)),
            "",
            summary,
            *COLLECTOR_LINES,
            "",
            legend(EXPLANATIONS),
        ]
    )
    return text, ok
