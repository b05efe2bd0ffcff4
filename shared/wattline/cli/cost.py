"""`wattline cost`: the monthly AWS + GCP bill of a deployment, per component, and the cheaper ingestion mode."""

from __future__ import annotations

import json
import sys

import typer


def register(app: typer.Typer) -> None:
    app.command(name="cost")(cost)


def cost(
    devices: int = typer.Option(..., "--devices", min=1, help="Number of meters (Shelly devices) at the site(s)."),
    interval: float = typer.Option(
        ...,
        "--interval",
        min=0.001,
        help="Seconds between two publish cycles of one meter: Gen1 `mqtt_update_period` (default 30); "
        "for Gen2+ the average time between NotifyStatus messages (about 60, less when power changes often).",
    ),
    gen: int = typer.Option(
        ...,
        "--gen",
        min=1,
        max=2,
        help="1: Gen1 EM/3EM, one MQTT message per quantity and channel (16 per cycle for a 2-channel EM); "
        "2: Gen2+/Pro/Gen3/Gen4, one NotifyStatus per cycle.",
    ),
    mode: str = typer.Option(
        ...,
        "--mode",
        help="direct: the IoT rule writes one S3 object per message; "
        "batched: the IoT rule feeds Firehose, one S3 object per device-minute.",
    ),
    watchdog: bool = typer.Option(
        False, "--watchdog", help="Include the near-real-time watchdog Lambda (every 5 min, realtimeAlerts=true)."
    ),
    output: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Estimate the monthly AWS + GCP bill, per component, from list prices.

    Prices come from one dated table (wattline/costs.py, PRICES_AS_OF; AWS
    us-east-1, GCP us-central1); free tiers are ignored. It prices IoT Core,
    Firehose (batched), S3 requests and storage by class (Glacier with its
    per-object overhead), Lambda, Step Functions, EventBridge, CloudWatch
    Logs, egress to GCP, Storage Transfer, GCS, BigQuery, Pub/Sub and Cloud
    Functions, then compares direct with batched for the same meters and
    recommends the cheaper. Months are 30 days; a year of history is stored.
    See docs/cost.md.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from wattline.costs import Scenario, report

    if mode not in ("direct", "batched"):
        raise typer.BadParameter("use direct or batched", param_hint="--mode")
    if output not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    scenario = Scenario(devices, interval, 1 if gen == 1 else 2, "direct" if mode == "direct" else "batched", watchdog)
    data = report(scenario)
    if output == "json":
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    table = Table(
        title=f"{devices:,} Gen{gen} meter(s), every {interval:g} s, {mode}: USD per month "
        f"(list prices as of {data['prices_as_of']}, free tiers ignored)",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("component")
    table.add_column("USD/month", justify="right")
    table.add_column("detail", overflow="fold")
    items = data["items"]
    assert isinstance(items, list)
    for item in items:
        table.add_row(item["component"], f"{item['usd_per_month']:,.2f}", item["detail"])
    table.add_section()
    table.add_row("total", f"{data['total_usd_per_month']:,.2f}", "")
    console = Console(width=160)
    console.print(table)
    console.print(f"recommendation: {data['recommendation']}")
