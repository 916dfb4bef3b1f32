"""The failover drills, each in a fresh process (its own moto, its own environment), printed as one
`RESULT_PREFIX` line of JSON: `python -m benchmarks.failover_child drills ROUNDS` for the interruptions,
`python -m benchmarks.failover_child healthy MACHINES HOURS` for the healthy machines under faults."""

from __future__ import annotations

import json
import logging
import os
import sys
import time

RESULT_PREFIX = "FAILOVER_RESULT "
SEED = 20261202
FAULT_RATE = 0.1
"""Heartbeats lost and provider calls answered 5xx, each this fraction of the time, in the healthy run."""


def main() -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    # The provider client warns of every 5xx it retries; the figures are what this run reports.
    logging.disable(logging.WARNING)
    from benchmarks.failover_drills import healthy_fleet, interruptions

    started = time.perf_counter()
    if sys.argv[1] == "drills":
        result = interruptions(rounds=int(sys.argv[2]), seed=SEED)
    else:
        machines, hours = int(sys.argv[2]), float(sys.argv[3])
        result = healthy_fleet(
            machines=machines, hours=hours, drop_rate=FAULT_RATE, error_rate=FAULT_RATE, seed=SEED
        )
        # Not the network but the agent: whole heartbeats never sent, which the watch cannot tell from
        # a partition once two intervals in a row are silent.
        result["stalled"] = healthy_fleet(
            machines=machines,
            hours=hours,
            drop_rate=0.0,
            error_rate=FAULT_RATE,
            seed=SEED,
            skip_rate=FAULT_RATE,
        )
    result["wall_seconds"] = time.perf_counter() - started
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
