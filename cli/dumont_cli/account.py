"""`dumont market|offers|savings|balance|failover|webhooks|completion`."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from dumont_cli import settings
from dumont_cli.output import emit_json, fields, output_option, table

OFFER_COLUMNS = ("offer_id", "gpu_name", "num_gpus", "region", "price_per_hour", "reliability")
WEBHOOK_COLUMNS = ("id", "url", "events", "enabled")
DELIVERY_COLUMNS = ("id", "event", "status", "attempts", "response_code", "created_at")
HISTORY_PERIODS = ("1h", "6h", "24h", "7d", "30d", "1y")
HISTORY_INTERVALS = ("5m", "15m", "1h", "6h", "1d")


@click.group()
def market() -> None:
    """Market prices and forecasts per GPU type.

    \b
    Example:
      dumont market prices --gpu RTX4090
      dumont market history RTX4090 --period 7d --interval 1d
      dumont market predictions RTX4090
    """


@market.command("prices")
@click.option("--gpu", "gpu_type", help="One GPU type, e.g. RTX4090.")
@click.option("--region", help="One region, e.g. us-east.")
@output_option
def prices(gpu_type: str | None, region: str | None, output: str) -> None:
    """Lowest, 10th-percentile and median prices per GPU-hour, by region.

    \b
    Example:
      dumont market prices --gpu RTX4090 --region us-east
    """
    found = settings.client().market.prices(gpu_type=gpu_type, region=region)
    if output == "json":
        emit_json({"prices": found})
        return
    rows = [
        [price.gpu_type, region_row.region, region_row.on_demand.lowest, region_row.on_demand.median,
         region_row.offers_available]
        for price in found
        for region_row in price.regions
    ]  # fmt: skip
    table("Market prices (USD per GPU-hour)", ("gpu", "region", "lowest", "median", "offers"), rows)


@market.command("history")
@click.argument("gpu_type")
@click.option("--region", help="One region, e.g. us-east.")
@click.option("--period", type=click.Choice(HISTORY_PERIODS), help="How far back (24h by default).")
@click.option("--interval", type=click.Choice(HISTORY_INTERVALS), help="Between points (1h by default).")
@output_option
def history(gpu_type: str, region: str | None, period: str | None, interval: str | None, output: str) -> None:
    """GPU_TYPE's on-demand prices over time, one point per interval.

    \b
    Example:
      dumont market history RTX4090 --period 7d --interval 1d --output json | jq '.points[-1]'
    """
    found = settings.client().market.history(gpu_type, region=region, period=period, interval=interval)
    if output == "json":
        emit_json(found)
        return
    rows = []
    for point in found.to_dict().get("points", []):
        # A gap (no prices collected then) has no on-demand prices.
        prices = point.get("on_demand") or {}
        rows.append(
            [
                point.get("timestamp"),
                prices.get("lowest"),
                prices.get("median"),
                point.get("offers_available"),
            ]
        )
    table(
        f"{found.gpu_type} over {found.period} (USD per GPU-hour)",
        ("time", "lowest", "median", "offers"),
        rows,
    )


@market.command("predictions")
@click.argument("gpu_type")
@click.option("--region", help="One region, e.g. us-east.")
@output_option
def predictions(gpu_type: str, region: str | None, output: str) -> None:
    """The forecast for GPU_TYPE's price, with its measured accuracy.

    \b
    Example:
      dumont market predictions RTX4090
    """
    forecast = settings.client().market.predictions(gpu_type, region=region)
    if output == "json":
        emit_json(forecast)
        return
    data = forecast.to_dict()
    fields(f"Forecast for {gpu_type}", data, ("status", "current_price", "model_accuracy", "recommendation"))


@click.command("offers")
@click.argument("gpu", required=False)
@click.option("--region", help="e.g. us-west.")
@click.option("--max-price", type=float, help="Highest price per hour.")
@click.option("--interruptible", is_flag=True, default=None, help="Interruptible (spot) prices.")
@click.option("--sort", type=click.Choice(["price", "reliability"]), help="Order.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many.")
@output_option
def offers(
    gpu: str | None,
    region: str | None,
    max_price: float | None,
    interruptible: bool | None,
    sort: str | None,
    limit: int,
    output: str,
) -> None:
    """Live offers, cheapest first.

    \b
    Example:
      dumont offers "RTX 4090" --region us-west --max-price 0.5
    """
    filters = {"region": region, "max_price": max_price, "interruptible": interruptible, "sort": sort}
    found = []
    for offer in settings.client().offers.list(gpu, per_page=min(limit, 100), **filters):
        found.append(offer)
        if len(found) >= limit:
            break
    if output == "json":
        emit_json({"offers": found})
        return
    table(
        f"{len(found)} offer(s)", OFFER_COLUMNS, [[o.to_dict().get(c) for c in OFFER_COLUMNS] for o in found]
    )


@click.command("savings")
@output_option
def savings(output: str) -> None:
    """What you saved against AWS, GCP and Azure.

    \b
    Example:
      dumont savings --output json | jq '.total_saved_usd'
    """
    dashboard = settings.client().savings.get_dashboard()
    if output == "json":
        emit_json(dashboard)
    else:
        fields("Savings", dashboard.to_dict(), list(dashboard.to_dict()))


@click.command("balance")
@output_option
def balance(output: str) -> None:
    """The team's balance, what it burns per hour, and how long it lasts.

    \b
    Example:
      dumont balance
    """
    current = settings.client().billing.balance()
    if output == "json":
        emit_json(current)
    else:
        fields("Balance", current.to_dict(), list(current.to_dict()))


@click.group()
def failover() -> None:
    """Failover of an instance whose machine is lost.

    \b
    Example:
      dumont failover configure inst_… --strategy snapshot --interval 10
      dumont failover status inst_…
    """


@failover.command("status")
@click.argument("instance_id")
@output_option
def failover_status(instance_id: str, output: str) -> None:
    """INSTANCE_ID's failover: strategy, last checkpoint, data at risk.

    \b
    Example:
      dumont failover status inst_…
    """
    status = settings.client().failover.status(instance_id)
    if output == "json":
        emit_json(status)
    else:
        names = ("instance_id", "enabled", "strategy", "status", "last_checkpoint_at", "last_failover")
        fields("Failover", status.to_dict(), names)


@failover.command("configure")
@click.argument("instance_id")
@click.option("--enable/--disable", default=True, help="Turn failover on or off.")
@click.option("--strategy", help="snapshot, warmpool or cpu_standby.")
@click.option("--interval", type=float, help="Minutes between checkpoints.")
@output_option
def failover_configure(
    instance_id: str, enable: bool, strategy: str | None, interval: float | None, output: str
) -> None:
    """Turn failover on or off for INSTANCE_ID, and choose how.

    \b
    Example:
      dumont failover configure inst_… --strategy snapshot --interval 0.5
    """
    status = settings.client().failover.configure(
        instance_id, enabled=enable, strategy=strategy, checkpoint_interval_minutes=interval
    )
    emit_json(status) if output == "json" else fields("Failover", status.to_dict(), ("enabled", "strategy"))


@failover.command("trigger")
@click.argument("instance_id")
@output_option
def failover_trigger(instance_id: str, output: str) -> None:
    """Fail INSTANCE_ID over now, as a drill: its machine is replaced as if it had died.

    \b
    Example:
      dumont failover trigger inst_… && dumont failover status inst_…
    """
    status = settings.client().failover.trigger(instance_id)
    if output == "json":
        emit_json(status)
    else:
        fields("Failover", status.to_dict(), ("instance_id", "strategy", "status", "last_failover"))


@click.group()
def webhooks() -> None:
    """Webhook subscriptions.

    \b
    Example:
      dumont webhooks create https://example.com/hook --event instance.created
      dumont webhooks list
      dumont webhooks test wh_… && dumont webhooks deliveries wh_…
    """


@webhooks.command("list")
@output_option
def webhooks_list(output: str) -> None:
    """List your team's webhooks.

    \b
    Example:
      dumont webhooks list --output json
    """
    found = settings.client().webhooks.list()
    if output == "json":
        emit_json({"webhooks": found})
        return
    table(
        f"{len(found)} webhook(s)",
        WEBHOOK_COLUMNS,
        [[w.to_dict().get(c) for c in WEBHOOK_COLUMNS] for w in found],
    )


@webhooks.command("create")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True, help="An event to send; repeat for more.")
@output_option
def webhooks_create(url: str, events: tuple[str, ...], output: str) -> None:
    """Send the events named to URL (the signing secret is printed once).

    \b
    Example:
      dumont webhooks create https://example.com/hook --event instance.created --event failover.completed
    """
    created = settings.client().webhooks.create(url, list(events))
    emit_json(created) if output == "json" else fields("Webhook", created.to_dict(), ("id", "url", "secret"))


@webhooks.command("delete")
@click.argument("webhook_id")
def webhooks_delete(webhook_id: str) -> None:
    """Delete a webhook.

    \b
    Example:
      dumont webhooks delete wh_…
    """
    emit_json(settings.client().webhooks.delete(webhook_id))


@webhooks.command("test")
@click.argument("webhook_id")
@output_option
def webhooks_test(webhook_id: str, output: str) -> None:
    """Send WEBHOOK_ID a test ping now, and show how it was answered.

    \b
    Example:
      dumont webhooks test wh_… --output json | jq '.response_code'
    """
    delivery = settings.client().webhooks.test(webhook_id)
    emit_json(delivery) if output == "json" else fields("Delivery", delivery.to_dict(), DELIVERY_COLUMNS)


@webhooks.command("deliveries")
@click.argument("webhook_id")
@click.option("--limit", type=click.IntRange(min=1, max=100), help="At most this many, newest first.")
@output_option
def webhooks_deliveries(webhook_id: str, limit: int | None, output: str) -> None:
    """WEBHOOK_ID's delivery log, newest first: each event, its attempts and the answer.

    \b
    Example:
      dumont webhooks deliveries wh_… --limit 10
    """
    found = settings.client().webhooks.deliveries(webhook_id, limit=limit)
    if output == "json":
        emit_json({"deliveries": found})
        return
    rows = [[item.to_dict().get(column) for column in DELIVERY_COLUMNS] for item in found]
    table(f"{len(found)} deliver(ies)", DELIVERY_COLUMNS, rows)


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    Example:
      eval "$(dumont completion bash)"      # in ~/.bashrc
      dumont completion fish > ~/.config/fish/completions/dumont.fish
    """
    from dumont_cli.main import cli

    completer = get_completion_class(shell)
    if completer is None:
        raise click.BadParameter(f"no completion for {shell}")
    click.echo(completer(cli, {}, "dumont", "_DUMONT_COMPLETE").source())


account_commands = (market, offers, savings, balance, failover, webhooks, completion)
