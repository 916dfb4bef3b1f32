"""`dumont list|create|show|stop|start|reboot|hibernate|wake|delete`: instances."""

from __future__ import annotations

from typing import Any

import click

from dumont.models import HIBERNATE_FAILED, HIBERNATED, INSTANCE_DEAD_ENDS, READY, Instance
from dumont_cli import settings
from dumont_cli.output import emit_json, fields, note, output_option, table, wait_for

LIST_COLUMNS = ("id", "name", "status", "gpu", "region", "ip", "cost_per_hour")
DETAIL_FIELDS = (
    "id", "name", "status", "status_reason", "gpu", "num_gpus", "region", "image", "disk_gb", "ip",
    "ssh_command", "jupyter_url", "cost_per_hour", "cost_accumulated", "uptime_seconds", "created_at",
)  # fmt: skip
instance_id_argument = click.argument("instance_id", metavar="INSTANCE_ID")
wait_option = click.option(
    "--wait", is_flag=True, help="Wait until it is running, showing progress on stderr."
)
timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=1), default=900, show_default=True, help="Seconds --wait waits."
)


def show_instance(instance: Instance, output: str) -> None:
    if output == "json":
        emit_json(instance)
    else:
        fields(f"Instance {instance.id}", instance.to_dict(), DETAIL_FIELDS)


def wait_until_running(instance: Instance, timeout: float) -> None:
    wait_for(
        instance.id,
        lambda: instance.refresh().status,
        lambda status: status == READY,
        INSTANCE_DEAD_ENDS,
        timeout,
    )


@click.command("list")
@click.option("--status", help="Only instances in this status, e.g. running.")
@click.option("--gpu", "gpu_type", help="Only instances of this GPU type, e.g. RTX4090.")
@output_option
def list_instances(status: str | None, gpu_type: str | None, output: str) -> None:
    """List your team's instances (every page), newest first.

    \b
    Example:
      dumont list --status running
      dumont list --output json | jq '.instances[] | .name'
    """
    instances = list(settings.client().instances.list(status=status, gpu_type=gpu_type))
    if output == "json":
        emit_json({"instances": instances, "total": len(instances)})
        return
    rows = [[instance.to_dict().get(column) for column in LIST_COLUMNS] for instance in instances]
    table(f"{len(instances)} instance(s)", LIST_COLUMNS, rows)


@click.command("create")
@click.option("--gpu", required=True, help="GPU type, any spelling: RTX4090, 'RTX 4090', A100, H100…")
@click.option("--region", help="Region, e.g. US-East, us-west, eu-central (any when left out).")
@click.option("--image", help="Container image, e.g. pytorch/pytorch:latest.")
@click.option("--disk", "disk_gb", type=click.IntRange(min=1), help="Disk size in GB.")
@click.option("--gpus", "num_gpus", type=click.IntRange(min=1), help="GPUs the machine has at least.")
@click.option("--name", help="A name for the instance.")
@click.option("--failover/--no-failover", default=None, help="Fail over by itself when the machine is lost.")
@click.option("--auto-hibernate/--no-auto-hibernate", default=None, help="Hibernate when it stays idle.")
@click.option("--ssh-key", help="A public key (one line of a .pub file) that may log in.")
@wait_option
@timeout_option
@output_option
def create(
    gpu: str,
    region: str | None,
    image: str | None,
    disk_gb: int | None,
    num_gpus: int | None,
    name: str | None,
    failover: bool | None,
    auto_hibernate: bool | None,
    ssh_key: str | None,
    wait: bool,
    timeout: float,
    output: str,
) -> None:
    """Rent the cheapest matching GPU and boot it.

    \b
    Example:
      dumont create --gpu RTX4090 --region US-East
      INSTANCE_ID=$(dumont create --gpu A100 --output json | jq -r '.id')
    """
    instance = settings.client().instances.create(
        gpu_type=gpu,
        region=region,
        image=image,
        disk_gb=disk_gb,
        num_gpus=num_gpus,
        name=name,
        failover_enabled=failover,
        auto_hibernate=auto_hibernate,
        ssh_key=ssh_key,
        wait=False,
    )
    note(f"Created {instance.id} ({instance.status})")
    if wait:
        wait_until_running(instance, timeout)
    show_instance(instance, output)


@click.command("show")
@instance_id_argument
@output_option
def show(instance_id: str, output: str) -> None:
    """Show an instance: status, how to reach it, what it costs.

    \b
    Example:
      dumont show inst_0123456789abcdef
    """
    show_instance(settings.client().instances.get(instance_id), output)


def _wait_option(default: bool, target: str) -> Any:
    return click.option(
        "--wait/--no-wait",
        default=default,
        show_default=True,
        help=f"Wait until it is {target}, showing progress on stderr.",
    )


def _action(
    name: str, summary: str, example: str, until: str | None = None, waits: bool = False
) -> click.Command:
    """A command that asks for one change of an instance; with `until`, it can wait for the status."""

    def run(instance_id: str, output: str, wait: bool = False, timeout: float = 900) -> None:
        client = settings.client()
        answer = getattr(client.instances, name)(instance_id)
        note(f"{instance_id}: {getattr(answer, 'message', None) or name + ' requested'}")
        instance = client.instances.get(instance_id)
        if wait and until:
            wait_for(
                instance.id,
                lambda: instance.refresh().status,
                lambda status: status == until,
                HIBERNATE_FAILED if until == HIBERNATED else INSTANCE_DEAD_ENDS,
                timeout,
            )
        show_instance(instance, output)

    run.__doc__ = f"{summary}\n\n\b\nExample:\n  {example}"
    command = output_option(run)
    if until:
        command = timeout_option(_wait_option(waits, until)(command))
    return click.command(name)(instance_id_argument(command))


hibernate = _action(
    "hibernate",
    "Snapshot the workspace, then give the machine back (billing stops); waits until hibernated.",
    "dumont hibernate inst_…",
    until=HIBERNATED,
    waits=True,
)
wake = _action(
    "wake", "Rent a new machine and restore the workspace onto it.", "dumont wake inst_… --wait", READY
)
stop = _action("stop", "Stop the machine (its disk is kept and billed).", "dumont stop inst_…", "stopped")
start = _action("start", "Start a stopped instance.", "dumont start inst_… --wait", READY)
reboot = _action("reboot", "Reboot the machine.", "dumont reboot inst_…")
delete = _action("delete", "Destroy the machine; the instance ends deleted.", "dumont delete inst_…")

instance_commands = (list_instances, create, show, hibernate, wake, stop, start, reboot, delete)
