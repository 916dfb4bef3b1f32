"""`python -m benchmarks` (`make bench`): cold start, DynamoDB requests per API request, workspace
snapshots against tar | lz4, the local stack's memory under an hour of heartbeats, webhook delivery under
load, live metrics to many WebSocket clients, and failover.

Exits 1 when the cold start passes its target, a route breaks its DynamoDB target (or was not
measured), snapshots miss theirs, the soak's memory grows past its own, a webhook subscriber misses an
event, a WebSocket client misses a heartbeat, or failover misses one of its targets, so regressions are
noticed.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import time
import warnings

from benchmarks import cold_start, dynamodb_requests, failover, live_metrics, snapshots, soak, webhooks
from dumont_agent.snapshot import COMPRESSIONS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="cold starts of each process (default 5)")
    parser.add_argument(
        "--snapshot-gib",
        type=float,
        default=1.0,
        help="size of the snapshot benchmark's workspace (default 1.0)",
    )
    parser.add_argument(
        "--failover-rounds",
        type=int,
        default=failover.ROUNDS,
        help=f"interruptions of each kind per strategy (default {failover.ROUNDS})",
    )
    parser.add_argument("--only-failover", action="store_true", help="run the failover section alone")
    parser.add_argument(
        "--failover-saved",
        action="store_true",
        help="print the failover section from the figures its last run kept, without running it",
    )
    parser.add_argument("--only-snapshots", action="store_true", help="run the snapshot section alone")
    parser.add_argument(
        "--snapshot-compression",
        choices=COMPRESSIONS,
        default="lz4",
        help="what the snapshot section's own snapshots compress with (default lz4)",
    )
    args = parser.parse_args(argv)
    # The HTTP servers of the local stack log every request; the report is all that should show.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Metrics are disabled on the local stack; Powertools still warns after each handler ran.
    warnings.filterwarnings("ignore", message="No application metrics to publish")

    started = time.perf_counter()
    print(
        f"Dumont Cloud benchmarks — Python {platform.python_version()}, {platform.machine()}, "
        f"{platform.system()}; moto as AWS, in this process",
        flush=True,
    )
    print(flush=True)
    if args.only_failover or args.failover_saved:
        result = failover.saved() if args.failover_saved else failover.measure(rounds=args.failover_rounds)
        report, failover_within_targets = failover.render(result)
        print(report, flush=True)
        return 0 if failover_within_targets else 1
    if args.only_snapshots:
        report, snapshots_within_targets = snapshots.render(
            snapshots.measure(gib=args.snapshot_gib, compression=args.snapshot_compression)
        )
        print(report, flush=True)
        return 0 if snapshots_within_targets else 1
    cold = cold_start.measure(rounds=args.rounds)
    print(cold_start.render(cold), flush=True)
    print(flush=True)
    report, within_targets = dynamodb_requests.render(dynamodb_requests.measure())
    print(report, flush=True)
    print(flush=True)
    report, snapshots_within_targets = snapshots.render(
        snapshots.measure(gib=args.snapshot_gib, compression=args.snapshot_compression)
    )
    print(report, flush=True)
    print(flush=True)
    report, soak_within_targets = soak.render(soak.measure())
    print(report, flush=True)
    print(flush=True)
    report, webhooks_within_target = webhooks.render(webhooks.measure())
    print(report, flush=True)
    print(flush=True)
    report, live_within_target = live_metrics.render(live_metrics.measure())
    print(report, flush=True)
    print(flush=True)
    report, failover_within_targets = failover.render(failover.measure(rounds=args.failover_rounds))
    print(report, flush=True)
    print(flush=True)
    print(f"Done in {time.perf_counter() - started:.0f} s.", flush=True)
    within_all = (
        cold.within_target
        and within_targets
        and snapshots_within_targets
        and soak_within_targets
        and webhooks_within_target
        and live_within_target
        and failover_within_targets
    )
    return 0 if within_all else 1


if __name__ == "__main__":
    sys.exit(main())
