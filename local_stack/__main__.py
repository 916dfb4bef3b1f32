"""`python -m local_stack`: Dumont Cloud on this machine, with moto as AWS and a local GPU marketplace."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence

from pydantic import TypeAdapter, ValidationError

from dumont_core.platform.settings import RealVastSettings, SettingsError, settings_from
from local_stack.stack import LocalStack, LocalStackConfig, RealVast

LOOPBACK_ENV = "WEBHOOK_ALLOW_LOOPBACK"
STOP_SECONDS = 3.0
"""How long Ctrl-C waits for what is running to finish: the stack is gone within 5 s."""


def stack_config(argv: Sequence[str], environ: Mapping[str, str]) -> LocalStackConfig:
    """The stack `python -m local_stack` starts, from its arguments and the environment."""
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__)
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
    parser.add_argument(
        "--webhook-loopback",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Let webhooks be sent to this machine (127.0.0.1, ::1), as AWS never does; on unless "
        "--no-webhook-loopback or WEBHOOK_ALLOW_LOOPBACK=false says otherwise",
    )
    args = parser.parse_args(argv)
    for name in ("provider_error_rate", "heartbeat_drop_rate"):
        if not 0 <= getattr(args, name) <= 1:
            parser.error(f"--{name.replace('_', '-')} is a fraction from 0 to 1")
    loopback = args.webhook_loopback
    if loopback is None:
        try:
            loopback = _flag(environ.get(LOOPBACK_ENV, "true"))
        except ValidationError:
            parser.error(f"{LOOPBACK_ENV} is true or false, not {environ[LOOPBACK_ENV]!r}")
    return LocalStackConfig(
        host=args.host,
        port=args.port,
        marketplace_port=args.marketplace_port,
        aws_port=args.aws_port,
        seed=args.seed,
        log_level=args.log_level,
        interruptions_per_hour=args.interruptions_per_hour,
        real_vast=_real_vast(environ),
        provider_error_rate=args.provider_error_rate,
        heartbeat_drop_rate=args.heartbeat_drop_rate,
        fault_seed=args.fault_seed,
        webhook_allow_loopback=loopback,
    )


def _flag(value: str) -> bool:
    # Read as the functions read their settings, so `WEBHOOK_ALLOW_LOOPBACK=0` means what it means there.
    return TypeAdapter(bool).validate_python(value)


def main() -> None:
    stack = LocalStack(stack_config(sys.argv[1:], os.environ)).start()
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
        f"  Live metrics (WebSocket):    {stack.url.replace('http://', 'ws://')}/ws/instance/{{id}}/metrics\n"
        f"  Local GPU marketplace:       {stack.marketplace.url}"
        f"{'  (unused: renting from the real Vast.ai)' if stack.config.real_vast else ''}\n"
        f"  Embedded AWS (moto):         {stack.aws.endpoint_url}\n"
        f"Try: curl -H 'Authorization: Bearer {stack.api_key}' {stack.url}/api/v1/instances\n"
        f"The official Vast.ai CLI speaks to the local marketplace too:\n"
        f"  vastai --url {stack.marketplace.url} --api-key {stack.marketplace.api_key} search offers\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    if stack.config.real_vast is not None:
        print(_REAL_MONEY_WARNING.format(cap=stack.config.real_vast.max_price_per_hour), flush=True)
    stopped.wait()
    print("Stopping…", flush=True)
    # A second Ctrl-C waits for nothing.
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))
    stack.stop(timeout=STOP_SECONDS)


_REAL_MONEY_WARNING = """
\033[1;31m!!! REAL VAST.AI: every instance you create rents a real machine, paid for by your Vast.ai
!!! account, at up to {cap:g} USD an hour each, until you delete it. Stopping this stack does NOT
!!! destroy them: delete your instances first, and check Vast.ai's console.\033[0m
"""


def _real_vast(environ: Mapping[str, str]) -> RealVast | None:
    """The real Vast.ai when DUMONT_REAL_VAST=1 asks for it, with its key and a price cap, or None."""
    try:
        settings = settings_from(RealVastSettings, environ)
    except SettingsError as error:
        raise SystemExit(f"make run: {error}") from None
    if not settings.use_real_vast:
        return None
    if settings.vast_api_key is None or settings.max_price_per_hour is None:
        raise SystemExit(
            "make run: DUMONT_REAL_VAST=1 rents real machines with real money; it also needs VAST_API_KEY "
            "(your Vast.ai key) and VAST_MAX_PRICE_PER_HOUR (the most one machine may cost, in USD an hour)"
        )
    print(_REAL_MONEY_WARNING.format(cap=settings.max_price_per_hour), flush=True)
    return RealVast(
        api_key=settings.vast_api_key.get_secret_value(),
        max_price_per_hour=settings.max_price_per_hour,
        url=settings.vast_api_url,
    )


if __name__ == "__main__":
    main()
