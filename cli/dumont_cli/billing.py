"""`dumont billing history|add-credits`: what was charged and credited, and paying for more."""

from __future__ import annotations

import click

from dumont_cli import settings
from dumont_cli.output import emit_json, fields, note, output_option, table

HISTORY_COLUMNS = (
    "date",
    "kind",
    "instance_id",
    "gpu_type",
    "hours",
    "price_per_hour",
    "amount",
    "description",
)


@click.group()
def billing() -> None:
    """Charges and credits (`dumont balance` for the balance).

    \b
    Example:
      dumont billing history --since 2026-11-01
      dumont billing add-credits 50
    """


@billing.command("history")
@click.option("--since", help="From this day on (YYYY-MM-DD).")
@click.option("--until", help="Up to this day (YYYY-MM-DD).")
@click.option("--instance", "instance_id", help="Only this instance's charges.")
@output_option
def history(since: str | None, until: str | None, instance_id: str | None, output: str) -> None:
    """Charges (one line per instance and day) and credits, newest first, every page.

    \b
    Example:
      dumont billing history --output json | jq '[.lines[] | select(.kind == "charge") | .amount] | add'
    """
    found = list(settings.client().billing.history(since=since, until=until, instance_id=instance_id))
    if output == "json":
        emit_json({"lines": found, "total": len(found)})
        return
    rows = [[line.to_dict().get(column) for column in HISTORY_COLUMNS] for line in found]
    table(f"{len(found)} line(s), USD", HISTORY_COLUMNS, rows)


@billing.command("add-credits")
@click.argument("amount", type=click.FloatRange(min=0, min_open=True))
@output_option
def add_credits(amount: float, output: str) -> None:
    """Pay for AMOUNT US dollars of credits: prints where to pay, or the new balance once confirmed.

    \b
    Example:
      dumont billing add-credits 50 --output json | jq -r '.checkout_url // .balance'
    """
    receipt = settings.client().billing.add_credits(amount)
    if receipt.checkout_url:
        note(f"Pay at {receipt.checkout_url}")
    if output == "json":
        emit_json(receipt)
    else:
        fields("Credits", receipt.to_dict(), ("payment_id", "amount", "status", "balance", "checkout_url"))
