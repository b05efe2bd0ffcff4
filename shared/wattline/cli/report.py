"""`wattline report`: one self-contained HTML dashboard from the local warehouse."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from wattline.local.cli_support import HOME_OPTION


def register(app: typer.Typer) -> None:
    app.command()(report)


def report(
    start: datetime = typer.Option(None, "--from", formats=["%Y-%m-%d"], help="First local date (default: first)."),
    end: datetime = typer.Option(None, "--to", formats=["%Y-%m-%d"], help="Last local date (default: last)."),
    out: Path = typer.Option(None, "--out", help="Output HTML file (default <home>/report.html)."),
    home: Path = HOME_OPTION,
) -> None:
    """Write one self-contained HTML dashboard.

    Daily energy stacked by tariff zone, cost per day and month, the tariff
    comparison (the period priced under every preset, as `wattline whatif`),
    the hourly profile heat map (hour x weekday), the forecast of the next 7
    days with its 80 % interval (as `wattline forecast`; the reason instead
    when the history is too short), the solar sites' generation,
    self-consumption and self-sufficiency (when a channel has the solar role,
    docs/solar.md), the power timeline with gaps and outages
    shaded, a data-quality table and recent alerts. Plotly with plotly.js
    inlined: the file opens without network. The Looker Studio report has the
    same pages: docs/looker.md."""
    from rich.console import Console

    from wattline.local.cli_support import existing_home, writable
    from wattline.local.runtime import Runtime, emulator_warehouse_gone
    from wattline.local.summary import write_report

    root = existing_home(home)
    gone = emulator_warehouse_gone(root)
    if gone:
        typer.echo(gone, err=True)
        raise typer.Exit(1)
    runtime = Runtime(root, read_only=not writable(root))
    try:
        with Console(stderr=True).status("reading the warehouse and rendering the dashboard"):
            path = write_report(
                runtime,
                out or root / "report.html",
                start=start.date() if start else None,
                end=end.date() if end else None,
            )
    finally:
        runtime.close()
    typer.echo(f"dashboard: {path}")
