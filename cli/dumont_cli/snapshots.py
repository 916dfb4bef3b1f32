"""`dumont snapshot create|list|show|restore|delete`."""

from __future__ import annotations

import click

from dumont.models import SNAPSHOT_DEAD_ENDS, SNAPSHOT_DONE, Snapshot
from dumont_cli import settings
from dumont_cli.output import emit_json, fields, note, output_option, table, wait_for

COLUMNS = ("id", "instance_id", "name", "status", "size_gb", "compression", "created_at")
wait_option = click.option(
    "--wait", is_flag=True, help="Wait until it is completed, showing progress on stderr."
)
timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=1), default=900, show_default=True, help="Seconds --wait waits."
)


def show_snapshot(snapshot: Snapshot, output: str) -> None:
    if output == "json":
        emit_json(snapshot)
    else:
        fields(f"Snapshot {snapshot.id}", snapshot.to_dict(), (*COLUMNS, "status_reason", "file_count"))


def wait_until_done(snapshot: Snapshot, timeout: float) -> None:
    wait_for(
        snapshot.id,
        lambda: snapshot.refresh().status,
        lambda status: status == SNAPSHOT_DONE,
        SNAPSHOT_DEAD_ENDS,
        timeout,
    )


@click.group()
def snapshot() -> None:
    """Snapshots of an instance's workspace.

    \b
    Example:
      dumont snapshot create inst_… --name "Backup" --wait
      dumont snapshot list
      dumont snapshot restore snap_…
    """


@snapshot.command("create")
@click.argument("instance_id")
@click.option("--name", help="What to call it.")
@click.option("--compression", type=click.Choice(["lz4", "zstd"]), help="lz4 (the default) or zstd.")
@wait_option
@timeout_option
@output_option
def create(
    instance_id: str, name: str | None, compression: str | None, wait: bool, timeout: float, output: str
) -> None:
    """Snapshot INSTANCE_ID's workspace.

    \b
    Example:
      dumont snapshot create inst_… --name "Backup"
    """
    taken = settings.client().snapshots.create(instance_id, name=name, compression=compression)
    note(f"Snapshot {taken.id} of {instance_id} ({taken.status})")
    if wait:
        wait_until_done(taken, timeout)
    show_snapshot(taken, output)


@snapshot.command("list")
@click.option("--instance", "instance_id", help="Only this instance's snapshots.")
@output_option
def list_snapshots(instance_id: str | None, output: str) -> None:
    """List your team's snapshots (every page).

    \b
    Example:
      dumont snapshot list --output json | jq -r '.snapshots[].id'
    """
    found = list(settings.client().snapshots.list(instance_id=instance_id))
    if output == "json":
        emit_json({"snapshots": found, "total": len(found)})
        return
    table(f"{len(found)} snapshot(s)", COLUMNS, [[item.to_dict().get(c) for c in COLUMNS] for item in found])


@snapshot.command("show")
@click.argument("snapshot_id")
@output_option
def show(snapshot_id: str, output: str) -> None:
    """Show a snapshot: status, size, compression.

    \b
    Example:
      dumont snapshot show snap_…
    """
    show_snapshot(settings.client().snapshots.get(snapshot_id), output)


@snapshot.command("restore")
@click.argument("snapshot_id")
@click.option("--instance", "instance_id", help="Restore onto this instance (the snapshot's own by default).")
@output_option
def restore(snapshot_id: str, instance_id: str | None, output: str) -> None:
    """Restore SNAPSHOT_ID's files onto an instance's workspace.

    \b
    Example:
      dumont snapshot restore snap_… --instance inst_…
    """
    restored = settings.client().snapshots.restore(snapshot_id, instance_id=instance_id)
    note(f"Restoring {snapshot_id} onto {instance_id or restored.instance_id}")
    show_snapshot(restored, output)


@snapshot.command("delete")
@click.argument("snapshot_id")
@output_option
def delete(snapshot_id: str, output: str) -> None:
    """Delete a snapshot (chunks another snapshot uses are kept).

    \b
    Example:
      dumont snapshot delete snap_…
    """
    show_snapshot(settings.client().snapshots.delete(snapshot_id), output)
