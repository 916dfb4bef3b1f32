"""One soak, run as `python -m benchmarks.soak_child fixed|shipped HEARTBEATS` in a fresh process.

Twenty running machines report in turn, every `HEARTBEAT_SECONDS` of a simulated clock, through the
same write a heartbeat makes (`MetricsRepository.record_heartbeat`, one transaction of three items), to
moto's DynamoDB in this process: `fixed` with the local stack's fixes (`local_stack.moto_memory`),
`shipped` with moto as released. The process's resident memory is read after a warm-up round and at
checkpoints, after a collection, and printed as one `RESULT_PREFIX` line of JSON.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta

import boto3
import psutil
from moto import mock_aws

from dumont_core.instances.metrics import MetricsRepository
from dumont_core.platform import table
from dumont_core.platform.dynamodb import bind_table
from local_stack.moto_memory import keep_memory_flat

RESULT_PREFIX = "SOAK_RESULT "
MODES = ("fixed", "shipped")
MACHINES = 20
HEARTBEAT_SECONDS = 5
"""How often the local stack's simulated machines report (`LocalStackConfig.agent_heartbeat_seconds`)."""
CHECKPOINTS = 6
TABLE_NAME = "DumontBench-Soak"
TEAM = "team_soak"
READING = {"gpu_utilization": 37.5, "gpu_memory_used_gb": 9.0, "cpu_utilization": 22.0, "ram_used_gb": 14.5}


def _machines() -> list[str]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(**table.create_table_request(TABLE_NAME))
    bind_table(TABLE_NAME)
    instance_ids = [f"inst_{number:016x}" for number in range(MACHINES)]
    for instance_id in instance_ids:
        client.put_item(
            TableName=TABLE_NAME,
            Item={
                "PK": {"S": table.team_key(TEAM)},
                "SK": {"S": table.instance_key(instance_id)},
                "status": {"S": "running"},
            },
        )
    return instance_ids


def _resident() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def soak(mode: str, heartbeats: int) -> dict[str, object]:
    if mode == "fixed":
        keep_memory_flat()
    readings = MetricsRepository(retention=timedelta(days=35))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with mock_aws():
        machines = _machines()
        for instance_id in machines:  # warm-up: clients, validators, caches
            readings.record_heartbeat(TEAM, instance_id, READING, now)
        start = _resident()
        every = max(1, heartbeats // CHECKPOINTS)
        checkpoints: list[tuple[int, int, float]] = []
        started = time.perf_counter()
        for count in range(1, heartbeats + 1):
            if count % MACHINES == 1:
                now += timedelta(seconds=HEARTBEAT_SECONDS)
            readings.record_heartbeat(TEAM, machines[count % MACHINES], READING, now)
            if count % every == 0 or count == heartbeats:
                checkpoints.append((count, _resident(), time.perf_counter() - started))
    return {"mode": mode, "heartbeats": heartbeats, "start": start, "checkpoints": checkpoints}


def main() -> None:
    mode, heartbeats = sys.argv[1], int(sys.argv[2])
    if mode not in MODES:
        raise SystemExit(f"mode must be one of {MODES}")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    print(RESULT_PREFIX + json.dumps(soak(mode, heartbeats)), flush=True)


if __name__ == "__main__":
    main()
