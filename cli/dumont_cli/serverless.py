"""`dumont serverless enable|disable|status`: an instance that hibernates by itself when idle."""

from __future__ import annotations

import click

from dumont.models import ServerlessStatus
from dumont_cli import settings
from dumont_cli.output import emit_json, fields, output_option

SHOWN = ("instance_id", "enabled", "state", "idle_timeout_minutes", "gpu_threshold", "gpu_utilization")


def show(status: ServerlessStatus, output: str) -> None:
    emit_json(status) if output == "json" else fields("Serverless mode", status.to_dict(), SHOWN)


@click.group()
def serverless() -> None:
    """Serverless mode: hibernate an instance by itself when its GPU stays idle, wake it on demand.

    \b
    Example:
      dumont serverless enable inst_… --idle-timeout 15 --gpu-threshold 5
      dumont serverless status inst_…
    """


@serverless.command("enable")
@click.argument("instance_id")
@click.option(
    "--idle-timeout", type=click.FloatRange(min=0, min_open=True), help="Idle minutes before hibernating."
)
@click.option(
    "--gpu-threshold", type=click.FloatRange(min=0, max=100), help="GPU percent under which it is idle."
)
@output_option
def enable(instance_id: str, idle_timeout: float | None, gpu_threshold: float | None, output: str) -> None:
    """Turn serverless mode on for INSTANCE_ID (15 minutes under 5% GPU by default).

    \b
    Example:
      dumont serverless enable inst_… --idle-timeout 30
    """
    status = settings.client().serverless.enable(
        instance_id, idle_timeout_minutes=idle_timeout, gpu_threshold=gpu_threshold
    )
    show(status, output)


@serverless.command("disable")
@click.argument("instance_id")
@output_option
def disable(instance_id: str, output: str) -> None:
    """Turn serverless mode off for INSTANCE_ID: it runs until you stop or hibernate it.

    \b
    Example:
      dumont serverless disable inst_…
    """
    show(settings.client().serverless.disable(instance_id), output)


@serverless.command("status")
@click.argument("instance_id")
@output_option
def status(instance_id: str, output: str) -> None:
    """INSTANCE_ID's serverless mode: on or off, its settings, and the GPU use it last saw.

    \b
    Example:
      dumont serverless status inst_… --output json | jq '.state'
    """
    show(settings.client().serverless.status(instance_id), output)
