"""Cold start of the API Lambda against a bare boto3 process, both measured in this run.

moto runs in server mode in this process and holds the table; each child is a fresh interpreter
(`benchmarks.cold_child`) given the environment a Lambda function gets. The children run
alternately, after one discarded warm-up each (bytecode caches, page cache), so both kinds see the
same machine load; the wall time is taken here, from spawn to exit.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from benchmarks.cold_child import MODES, RESULT_PREFIX
from benchmarks.report import heading, legend, milliseconds, table
from dumont_core.platform.table import create_table_request
from infra.topology import CORE_LAYER_DIR, FUNCTIONS_DIR, REPO_ROOT, STATE_MACHINES

REGION = "us-east-1"
ACCOUNT = "123456789012"
# Not the local stack's table name: moto's backends are shared by every server in this process.
TABLE_NAME = "DumontBench-ColdStart"
CHILD_TIMEOUT_SECONDS = 60
TARGET_RATIO = 1.5
"""The API Lambda's cold start may take at most this many times the bare boto3 process (median wall)."""


@dataclass(frozen=True)
class ChildRun:
    mode: str
    wall_seconds: float
    """From spawning the process to reaping it, measured here."""
    startup_seconds: float
    """From spawning to the child module being loaded: interpreter start-up."""
    import_seconds: float
    first_seconds: float
    exit_seconds: float
    """From the child's result being ready to the process being reaped: interpreter teardown."""

    @property
    def lambda_seconds(self) -> float:
        """What Lambda's cold start covers: the init phase (imports) and the first invocation."""
        return self.import_seconds + self.first_seconds


@dataclass(frozen=True)
class ColdStartResult:
    runs: dict[str, list[ChildRun]]

    def median(self, mode: str, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs[mode])

    def ratio(self, attribute: str) -> float:
        return self.median("api", attribute) / self.median("baseline", attribute)

    @property
    def within_target(self) -> bool:
        return self.ratio("wall_seconds") <= TARGET_RATIO


def child_environment(endpoint_url: str) -> dict[str, str]:
    """What a Lambda function's environment holds that matters here; nothing else leaks in."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "PYTHONPATH": os.pathsep.join(str(path) for path in (CORE_LAYER_DIR, FUNCTIONS_DIR, REPO_ROOT)),
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        # No profile files and no instance metadata: the same for both kinds, and no stray lookups.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "TABLE_NAME": TABLE_NAME,
        # The rest of what the API function is deployed with; the request measured needs none of it, but
        # the function checks its settings at cold start, as it does in AWS.
        **{
            spec.arn_env_var: f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:DumontCloud-{spec.name}"
            for spec in STATE_MACHINES
        },
        "JWT_SECRET_ARN": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:DumontCloud-TokenSigning-AbCdEf",
        "SNAPSHOT_BUCKET": "dumontcloud-snapshots",
        "POWERTOOLS_SERVICE_NAME": "dumont-cloud",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


def run_child(mode: str, environment: dict[str, str]) -> ChildRun:
    # Wall-clock times, comparable with the child's; the monotonic clock measures the whole run.
    spawned_at, started = time.time(), time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.cold_child", mode],
        env=environment,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )
    wall, reaped_at = time.perf_counter() - started, time.time()
    lines = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or len(lines) != 1:
        raise RuntimeError(
            f"cold-start child `{mode}` failed (exit {completed.returncode}):\n"
            f"{completed.stdout[-2000:]}{completed.stderr[-4000:]}"
        )
    result = json.loads(lines[0].removeprefix(RESULT_PREFIX))
    return ChildRun(
        mode=mode,
        wall_seconds=wall,
        startup_seconds=float(result["loaded_at"]) - spawned_at,
        import_seconds=float(result["import_seconds"]),
        first_seconds=float(result["first_seconds"]),
        exit_seconds=reaped_at - float(result["finished_at"]),
    )


def measure(rounds: int = 5, warmups: int = 1) -> ColdStartResult:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint_url = f"http://{host}:{port}"
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=endpoint_url,
            region_name=REGION,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        dynamodb.create_table(**create_table_request(TABLE_NAME))
        environment = child_environment(endpoint_url)
        for _ in range(warmups):
            for mode in MODES:
                run_child(mode, environment)
        runs: dict[str, list[ChildRun]] = {mode: [] for mode in MODES}
        for _ in range(rounds):
            for mode in MODES:
                runs[mode].append(run_child(mode, environment))
        dynamodb.delete_table(TableName=TABLE_NAME)
    finally:
        server.stop()
    return ColdStartResult(runs)


def _spread(values: Sequence[float]) -> str:
    return f"{milliseconds(min(values))}-{milliseconds(max(values))}"


def render(result: ColdStartResult) -> str:
    labels = {
        "api": "API Lambda: import api.handler + GET /api/v1/instances",
        "baseline": 'baseline: import boto3 + boto3.client("dynamodb")',
    }
    phases = ("startup_seconds", "import_seconds", "first_seconds", "exit_seconds", "lambda_seconds")
    rows = []
    for mode in ("api", "baseline"):
        runs = result.runs[mode]
        rows.append(
            [
                labels[mode],
                str(len(runs)),
                milliseconds(result.median(mode, "wall_seconds")),
                _spread([run.wall_seconds for run in runs]),
                *(milliseconds(result.median(mode, phase)) for phase in phases),
            ]
        )
    rows.append(
        [
            "ratio API / baseline",
            "",
            f"{result.ratio('wall_seconds'):.2f}x",
            "",
            *(f"{result.ratio(phase):.2f}x" for phase in phases),
        ]
    )
    headers = ["process", "runs", "wall", "wall range", "start-up", "import", "first", "exit", "import+first"]
    explanations = [
        ("process", "what the fresh Python process does before it exits"),
        ("runs", "measured runs, alternating with the other process, after one discarded warm-up each"),
        ("wall", "median wall time from spawning the process to reaping it, measured by the parent"),
        ("wall range", "fastest-slowest wall time of those runs"),
        ("start-up", "median time from spawn until the child's module ran: interpreter start-up"),
        ("import", "median time the child spent importing api.handler (or boto3)"),
        ("first", "median time of the first request (handler incl. its DynamoDB Query; or client creation)"),
        ("exit", "median time from the child's result to its reaping: mostly interpreter teardown"),
        ("import+first", "median of import + first: what Lambda bills as init and first invocation"),
    ]
    return "\n".join(
        [
            heading("1. Cold start of the API Lambda (all times in ms)"),
            table(headers, rows, right=tuple(range(1, len(headers)))),
            "",
            f"  Cold start ratio (API / baseline, median wall times): {result.ratio('wall_seconds'):.2f}x"
            f"; without interpreter start-up and exit (import+first): {result.ratio('lambda_seconds'):.2f}x",
            f"  {'ok' if result.within_target else 'TOO SLOW'}: at most {TARGET_RATIO}x the baseline",
            "",
            legend(explanations),
        ]
    )
