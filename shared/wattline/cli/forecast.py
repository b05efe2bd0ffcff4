"""`wattline forecast`: daily energy forecasts (with 80 % intervals) from the warehouse's hourly energy."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from wattline.local.cli_support import HOME_OPTION, warehouse_settings


def register(app: typer.Typer) -> None:
    app.command()(forecast)


def forecast(
    days: int = typer.Option(7, "--days", min=1, max=60, help="Local days to forecast (1–60)."),
    device: str = typer.Option(None, "--device", help="Only this device id (default: every device and channel)."),
    start: datetime = typer.Option(
        None,
        "--start",
        formats=["%Y-%m-%d"],
        help="First local date to forecast (default: the day after the newest complete local day).",
    ),
    backtest: bool = typer.Option(
        False, "--backtest", help="Only score the model against the seasonal-naive baseline (no forecasts)."
    ),
    warehouse: str = typer.Option(
        None, "--warehouse", help="duckdb or bigquery (default: WATTLINE_WAREHOUSE, else duckdb)."
    ),
    home: Path = HOME_OPTION,
    output: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Forecast daily energy per device and channel, with an 80 % interval.

    Reads energy_hourly (via the energy_hourly_local view) from the warehouse, as
    `wattline energy` does. The model is an hour-of-week profile (the last 28
    days) scaled by the level of the last 14 days; the baseline is "seasonal
    naive" (the same weekday a week earlier). A rolling-origin backtest (every
    day of the last 4 weeks as origin, 1–7 days ahead) scores both, and the
    baseline is used when it has the lower error: the output says which
    (model_used). Intervals are the 10th–90th percentiles of the chosen
    method's own past daily errors. Needs at least 14 complete local days per
    series. Details, JSON keys and measured figures: docs/forecast.md.
    """
    from wattline.cli.failures import exit_on_failure
    from wattline.forecast import forecast_document, series_histories
    from wattline.warehouse import init_warehouse, open_warehouse
    from wattline.warehouse.schema import query_text

    if output not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    if backtest and start is not None:
        raise typer.BadParameter("--backtest scores the history; it takes no --start", param_hint="--start")
    with exit_on_failure("the warehouse is unavailable for now: try again"):
        settings = warehouse_settings(home, warehouse)
        store = open_warehouse(settings)
        if settings.warehouse == "duckdb" and not settings.duckdb_read_only:
            init_warehouse(store, settings)  # embedded: views follow the current settings, cheap to refresh
        rows = store.query(query_text("forecast_hourly"), {"device_id": device})
        document = forecast_document(
            series_histories(rows), days=days, start=start.date() if start else None, backtest_only=backtest
        )
    if output == "json":
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        print_tables(document)


def print_tables(document: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for score in document["backtest"]:
        key = (score["device_id"], score["channel"])
        model, baseline = score["model"], score["baseline"]
        if score["pairs"]:
            scored = (
                f"backtest MAE {_kwh(model['mae_kwh'])} ({model['name']}) vs {_kwh(baseline['mae_kwh'])} "
                f"(seasonal naive) over {score['pairs']} past forecasts"
            )
        else:
            scored = f"no backtest yet (needs more than {document['protocol']['min_history_days']} complete days)"
        note = "; intervals from in-sample errors" if score.get("interval_source") == "in_sample" else ""
        title = f"{key[0]} channel {key[1]}: using {score['model_used']} — {scored}{note}"
        rows = [f for f in document.get("forecasts", []) if (f["device_id"], f["channel"]) == key]
        if "forecasts" not in document:
            console.print(title)
            continue
        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        table.add_column("date", no_wrap=True)
        for column in ("kWh", "80 % low", "80 % high"):
            table.add_column(column, justify="right", no_wrap=True)
        for row in rows:
            table.add_row(row["date"], f"{row['energy_kwh']:.3f}", f"{row['lower']:.3f}", f"{row['upper']:.3f}")
        console.print(table)
    for skipped in document["skipped"]:
        console.print(f"skipped {skipped['device_id']} channel {skipped['channel']}: {skipped['reason']}")


def _kwh(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} kWh"
