"""`dumont teams|api-keys|ssh-keys`: who is in your teams, the team's API keys, and SSH keys."""

from __future__ import annotations

from pathlib import Path

import click

from dumont_cli import settings
from dumont_cli.output import emit_json, fields, note, output_option, table

TEAM_COLUMNS = ("id", "name", "plan", "role", "current")
MEMBER_COLUMNS = ("account_id", "email", "role", "joined_at")
API_KEY_COLUMNS = ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at")
SSH_KEY_COLUMNS = ("id", "name", "fingerprint", "added_at")
instance_option = click.option(
    "--instance", "instance_id", help="An instance's keys instead of your account's (given to new instances)."
)


@click.group()
def teams() -> None:
    """Your teams, your role in each, and their members.

    \b
    Example:
      dumont teams list
      dumont teams members team_…
    """


@teams.command("list")
@output_option
def teams_list(output: str) -> None:
    """List the teams you belong to.

    \b
    Example:
      dumont teams list --output json | jq -r '.teams[] | select(.current) | .id'
    """
    found = settings.client().teams.list()
    if output == "json":
        emit_json({"teams": found})
        return
    table(f"{len(found)} team(s)", TEAM_COLUMNS, [[t.to_dict().get(c) for c in TEAM_COLUMNS] for t in found])


@teams.command("show")
@click.argument("team_id")
@output_option
def teams_show(team_id: str, output: str) -> None:
    """Show TEAM_ID: its plan, your role, and its members.

    \b
    Example:
      dumont teams show team_…
    """
    team = settings.client().teams.get(team_id)
    if output == "json":
        emit_json(team)
        return
    fields(f"Team {team.id}", team.to_dict(), ("id", "name", "plan", "role", "created_at"))
    members = team.to_dict().get("members") or []
    table("Members", MEMBER_COLUMNS, [[m.get(c) for c in MEMBER_COLUMNS] for m in members])


@teams.command("members")
@click.argument("team_id")
@output_option
def teams_members(team_id: str, output: str) -> None:
    """List TEAM_ID's members and their roles.

    \b
    Example:
      dumont teams members team_… --output json | jq -r '.members[].email'
    """
    found = settings.client().teams.members(team_id)
    if output == "json":
        emit_json({"members": found})
        return
    rows = [[member.to_dict().get(c) for c in MEMBER_COLUMNS] for member in found]
    table(f"{len(found)} member(s)", MEMBER_COLUMNS, rows)


@click.group("api-keys")
def api_keys() -> None:
    """Your team's API keys: the whole key is shown once, when created.

    \b
    Example:
      dumont api-keys create ci
      dumont api-keys list
    """


@api_keys.command("list")
@output_option
def api_keys_list(output: str) -> None:
    """List the team's API keys (their prefixes only).

    \b
    Example:
      dumont api-keys list --output json | jq -r '.api_keys[].prefix'
    """
    found = settings.client().api_keys.list()
    if output == "json":
        emit_json({"api_keys": found})
        return
    table(
        f"{len(found)} key(s)",
        API_KEY_COLUMNS,
        [[k.to_dict().get(c) for c in API_KEY_COLUMNS] for k in found],
    )


@api_keys.command("create")
@click.argument("name")
@output_option
def api_keys_create(name: str, output: str) -> None:
    """Create an API key called NAME; the whole key is printed this once.

    \b
    Example:
      export DUMONT_API_KEY=$(dumont api-keys create ci --output json | jq -r '.key')
    """
    created = settings.client().api_keys.create(name)
    note("Keep the key now: it is not shown again.")
    emit_json(created) if output == "json" else fields("API key", created.to_dict(), ("id", "name", "key"))


@api_keys.command("delete")
@click.argument("key_id")
@output_option
def api_keys_delete(key_id: str, output: str) -> None:
    """Revoke KEY_ID: it stops working at once.

    \b
    Example:
      dumont api-keys delete key_…
    """
    revoked = settings.client().api_keys.revoke(key_id)
    emit_json(revoked) if output == "json" else fields(
        "Revoked", revoked.to_dict(), ("id", "name", "revoked_at")
    )


@click.group("ssh-keys")
def ssh_keys() -> None:
    """SSH keys: your account's (every instance created later starts with them) or, with --instance, an
    instance's own.

    \b
    Example:
      dumont ssh-keys add ~/.ssh/id_ed25519.pub
      dumont ssh-keys add ~/.ssh/id_ed25519.pub --instance inst_…
      dumont ssh-keys list --instance inst_…
    """


@ssh_keys.command("list")
@instance_option
@output_option
def ssh_keys_list(instance_id: str | None, output: str) -> None:
    """List your account's SSH keys, or an instance's.

    \b
    Example:
      dumont ssh-keys list --output json | jq -r '.ssh_keys[].fingerprint'
    """
    client = settings.client()
    found = client.instances.ssh_keys(instance_id) if instance_id else client.ssh_keys.list()
    if output == "json":
        emit_json({"ssh_keys": found})
        return
    rows = [[key.to_dict().get(c) for c in SSH_KEY_COLUMNS] for key in found]
    table(f"{len(found)} SSH key(s)", SSH_KEY_COLUMNS, rows)


@ssh_keys.command("add")
@click.argument("public_key")
@click.option("--name", help="What to call it (the key's comment by default).")
@instance_option
@output_option
def ssh_keys_add(public_key: str, name: str | None, instance_id: str | None, output: str) -> None:
    """Add PUBLIC_KEY: a .pub file, or its line itself.

    \b
    Example:
      dumont ssh-keys add ~/.ssh/id_ed25519.pub --name laptop
    """
    path = Path(public_key).expanduser()
    line = path.read_text().strip() if path.is_file() else public_key
    client = settings.client()
    if instance_id:
        added = client.instances.add_ssh_key(instance_id, line, name=name)
    else:
        added = client.ssh_keys.add(line, name=name)
    emit_json(added) if output == "json" else fields("SSH key", added.to_dict(), SSH_KEY_COLUMNS)


@ssh_keys.command("remove")
@click.argument("key_id")
@instance_option
@output_option
def ssh_keys_remove(key_id: str, instance_id: str | None, output: str) -> None:
    """Remove KEY_ID from your account (instances that have it keep it), or from an instance.

    \b
    Example:
      dumont ssh-keys remove key_… --instance inst_…
    """
    client = settings.client()
    removed = (
        client.instances.remove_ssh_key(instance_id, key_id)
        if instance_id
        else client.ssh_keys.remove(key_id)
    )
    emit_json(removed) if output == "json" else fields("Removed", removed.to_dict(), SSH_KEY_COLUMNS)
