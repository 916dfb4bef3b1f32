"""`dumont config`: the API key and address kept in the user's config directory."""

from __future__ import annotations

import click

from dumont_cli import settings
from dumont_cli.output import emit_json, fields, note, output_option


@click.group()
def config() -> None:
    """The API key and API address the CLI uses.

    Environment variables override the file: DUMONT_API_KEY, DUMONT_API_URL.

    \b
    Example:
      dumont config set-key dumont_sk_...
      dumont config show
    """


@config.command("set-key")
@click.argument("api_key")
def set_key(api_key: str) -> None:
    """Keep API_KEY in the config file (readable by you only).

    \b
    Example:
      dumont config set-key dumont_sk_1234567890abcdef
    """
    key = api_key.strip()
    if not key:
        raise click.BadParameter("the key is empty", param_hint="API_KEY")
    path = settings.write_file(api_key=key)
    note(f"API key {settings.masked(key)} saved in {path}")


@config.command("set-url")
@click.argument("api_url")
def set_url(api_url: str) -> None:
    """Keep the API's address in the config file (https://dumontcloud.com when unset).

    \b
    Example:
      dumont config set-url http://localhost:8766
    """
    if not api_url.startswith(("http://", "https://")):
        raise click.BadParameter("give the address with http:// or https://", param_hint="API_URL")
    path = settings.write_file(api_url=api_url.rstrip("/"))
    note(f"API address {api_url} saved in {path}")


@config.command("show")
@output_option
def show(output: str) -> None:
    """Show the key (masked, never whole), the address, and where each comes from.

    \b
    Example:
      dumont config show --output json
    """
    key, url = settings.api_key(), settings.api_url()
    shown = {
        "api_key": settings.masked(key.value) if key.value else None,
        "api_key_source": key.source,
        "api_url": url.value or "https://dumontcloud.com",
        "api_url_source": url.source,
        "config_file": str(settings.config_path()),
    }
    if output == "json":
        emit_json(shown)
    else:
        fields("Dumont CLI configuration", shown, list(shown))
