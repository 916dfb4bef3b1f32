"""`dumont`: the root command, its error handling and exit codes."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape

from dumont.errors import DumontError, RateLimitError
from dumont_cli import exit_codes
from dumont_cli.access import api_keys, ssh_keys, teams
from dumont_cli.account import account_commands
from dumont_cli.billing import billing
from dumont_cli.instances import instance_commands
from dumont_cli.output import stderr
from dumont_cli.serverless import serverless
from dumont_cli.settings_commands import config
from dumont_cli.snapshots import snapshot


class Root(click.Group):
    """Turns the SDK's errors into a message on stderr and a documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DumontError as error:
            report(error)
            ctx.exit(exit_codes.for_error(error))


def report(error: DumontError) -> None:
    stderr.print(f"[red]Error:[/red] {escape(error.message)}", markup=True, highlight=False, soft_wrap=True)
    for field in error.details.get("fields", []) if isinstance(error.details.get("fields"), list) else []:
        if isinstance(field, dict):
            stderr.print(f"  {field.get('field')}: {field.get('message')}", markup=False)
    if isinstance(error, RateLimitError):
        stderr.print(f"  retry in {error.retry_after:g} s", markup=False)
    stderr.print(f"  ({error.code}{f', HTTP {error.status}' if error.status else ''})", markup=False)


EXIT_CODE_HELP = "\n".join(f"  {code}  {meaning}" for code, meaning in exit_codes.DOCUMENTED.items())


@click.group(
    cls=Root,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
    epilog=f"\b\nExit codes:\n{EXIT_CODE_HELP}",
)
@click.version_option(package_name="dumont-cli", prog_name="dumont")
def cli() -> None:
    """Dumont Cloud from the command line: GPU instances, snapshots, market, savings and billing.

    The API key comes from DUMONT_API_KEY or `dumont config set-key`; the address from DUMONT_API_URL
    or `dumont config set-url`. Shell completion: `dumont completion bash` (or zsh, fish).

    \b
    Example:
      dumont config set-key dumont_sk_...
      dumont create --gpu RTX4090 --region US-East --wait
      dumont list --output json | jq '.instances[] | .name'
    """


cli.add_command(config)
cli.add_command(snapshot)
for command in (*instance_commands, *account_commands, serverless, billing, teams, api_keys, ssh_keys):
    cli.add_command(command)


def main() -> None:
    sys.exit(cli.main(prog_name="dumont", standalone_mode=True))
