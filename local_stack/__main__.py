"""`python -m local_stack`: Dumont Cloud on this machine, with moto as AWS and a local GPU marketplace."""

from __future__ import annotations

import argparse
import os
import signal
import threading

from local_stack.stack import LocalStack, LocalStackConfig

STOP_SECONDS = 3.0
"""How long Ctrl-C waits for what is running to finish: the stack is gone within 5 s."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--marketplace-port", type=int, default=8767)
    parser.add_argument("--aws-port", type=int, default=8768)
    parser.add_argument("--seed", type=int, default=None, help="Seed for the marketplace's offers and prices")
    parser.add_argument("--log-level", default="WARNING", help="Log level of the Lambda handlers")
    parser.add_argument(
        "--interruptions-per-hour",
        type=float,
        default=0.0,
        help="Interrupt each running machine at random this often per hour, as spot markets do (default 0)",
    )
    parser.add_argument(
        "--provider-error-rate",
        type=float,
        default=0.0,
        help="Answer 5xx to this fraction of the marketplace API's calls, at random (default 0)",
    )
    parser.add_argument(
        "--heartbeat-drop-rate",
        type=float,
        default=0.0,
        help="Lose this fraction of the agents' heartbeat requests on the machines' network (default 0)",
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="Seed of the random faults (default 0)")
    args = parser.parse_args()
    for name in ("provider_error_rate", "heartbeat_drop_rate"):
        if not 0 <= getattr(args, name) <= 1:
            parser.error(f"--{name.replace('_', '-')} is a fraction from 0 to 1")

    stack = LocalStack(
        LocalStackConfig(
            host=args.host,
            port=args.port,
            marketplace_port=args.marketplace_port,
            aws_port=args.aws_port,
            seed=args.seed,
            log_level=args.log_level,
            interruptions_per_hour=args.interruptions_per_hour,
            provider_error_rate=args.provider_error_rate,
            heartbeat_drop_rate=args.heartbeat_drop_rate,
            fault_seed=args.fault_seed,
        )
    ).start()
    bootstrap = stack.bootstrap
    assert bootstrap is not None
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print(
        f"Dumont Cloud is running at {stack.url}\n"
        f"  Bootstrap account:           {bootstrap.email} / {bootstrap.password}\n"
        f"  Its API key:                 {stack.api_key}\n"
        f"  Swagger UI:                  {stack.url}/docs\n"
        f"  Local GPU marketplace:       {stack.marketplace.url}\n"
        f"  Embedded AWS (moto):         {stack.aws.endpoint_url}\n"
        f"Try: curl -H 'Authorization: Bearer {stack.api_key}' {stack.url}/api/v1/instances\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    stopped.wait()
    print("Stopping…", flush=True)
    # A second Ctrl-C waits for nothing.
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))
    stack.stop(timeout=STOP_SECONDS)


if __name__ == "__main__":
    main()
