"""What the CLI prints: tables (rich) or clean JSON on stdout; progress and messages on stderr."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dumont._objects import ApiObject
from dumont.errors import NotReadyError, WaitTimeoutError

F = TypeVar("F", bound=Callable[..., Any])

stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)

output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="json: only JSON on stdout, for scripts (progress and messages go to stderr).",
)


def as_json(value: Any) -> Any:
    if isinstance(value, ApiObject):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    return value


def emit_json(value: Any) -> None:
    click.echo(json.dumps(as_json(value), indent=2, default=str))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    grid = Table(title=title, title_justify="left")
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*(Text("-" if cell is None else str(cell)) for cell in row))
    stdout.print(grid)


def fields(title: str, record: dict[str, Any], names: Sequence[str]) -> None:
    grid = Table(title=title, title_justify="left", show_header=False)
    grid.add_column(style="bold")
    grid.add_column()
    for name in names:
        value = record.get(name)
        grid.add_row(name, Text("-" if value is None else str(value)))
    stdout.print(grid)


def note(message: str) -> None:
    """A message for the person at the terminal, printed as it is (no markup read into it)."""
    stderr.print(message, markup=False)


def wait_for(
    label: str,
    refresh: Callable[[], str],
    done: Callable[[str], bool],
    dead_ends: frozenset[str],
    timeout: float,
    poll_interval: float = 2.0,
) -> None:
    """Shows `label: <status>` on stderr while polling, until `done(status)`."""
    deadline = time.monotonic() + timeout
    with stderr.status(Text(f"{label}…")) as spinner:
        while True:
            status = refresh()
            spinner.update(Text(f"{label}: {status}"))
            if done(status):
                break
            if status in dead_ends:
                raise NotReadyError(f"{label} ended {status}", code="NOT_READY", details={"status": status})
            if time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"{label} still {status} after {timeout:g} s",
                    code="WAIT_TIMEOUT",
                    details={"status": status},
                )
            time.sleep(poll_interval)
    note(f"{label}: {status}")
