"""`wattline alerts`: the alerts recorded in the configured warehouse's `alerts` ledger."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from wattline.local.cli_support import HOME_OPTION, warehouse_settings


def register(app: typer.Typer) -> None:
    app.command(name="alerts")(alerts)


def alerts(
    start: datetime = typer.Option(
        None, "--from", formats=["%Y-%m-%d"], help="First local date (YYYY-MM-DD), inclusive (default: 7 days ago)."
    ),
    end: datetime = typer.Option(
        None, "--to", formats=["%Y-%m-%d"], help="Last local date (YYYY-MM-DD), inclusive (default: today)."
    ),
    kind: list[str] = typer.Option(
        None,
        "--kind",
        help="Only these kinds (repeatable): gap, low_coverage, offline, outage, over_rated, "
        "spike, energy_mismatch, counter_reset, voltage.",
    ),
    device: str = typer.Option(None, "--device", help="Only this device id ('*' is the whole site)."),
    open_only: bool = typer.Option(False, "--open", help="Only alerts still open (no end yet)."),
    summary: bool = typer.Option(False, "--outage-hours", help="Print hours of outage per device and local day."),
    warehouse: str = typer.Option(None, "--warehouse", help="duckdb or bigquery (default: WATTLINE_WAREHOUSE)."),
    home: Path = HOME_OPTION,
    output: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Alerts whose start falls in the local dates [--from, --to], oldest first.

    Every alert has its dedup key (sha of kind, device, channel and start),
    kind, device_id, channel, start, end (empty while open), severity,
    status (open or resolved), a message and the numbers behind it;
    incident: the key of the incident it was notified in (its own key when
    it leads one: conditions with one cause, e.g. an outage with its gaps,
    are one notification); notified: false for history (a condition first
    seen long after it ended, e.g. an import) that was recorded, not sent.

    The warehouse comes from the WATTLINE_* settings: DuckDB
    (the home's warehouse.duckdb, or WATTLINE_DUCKDB_PATH) or BigQuery
    (WATTLINE_GCP_PROJECT, WATTLINE_BQ_DATASET). See docs/alerts.md.
    """
    from datetime import UTC, time, timedelta

    from wattline.alerts.detect import outage_hours_by_day
    from wattline.alerts.model import AlertKind
    from wattline.alerts.store import WarehouseAlertStore
    from wattline.cli.failures import exit_on_failure
    from wattline.warehouse import open_warehouse

    if output not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    known = {k.value for k in AlertKind}
    unknown = sorted(set(kind or []) - known)
    if unknown:
        raise typer.BadParameter(f"unknown kind(s) {unknown}; use {sorted(known)}", param_hint="--kind")
    with exit_on_failure("the warehouse is unavailable for now: try again"):
        settings = warehouse_settings(home, warehouse)
        tz = settings.zone
        today = datetime.now(tz).date()
        first = start.date() if start else today - timedelta(days=7)
        last = end.date() if end else today
        if last < first:
            raise typer.BadParameter(f"--to {last} is before --from {first}", param_hint="--to")
        since = datetime.combine(first, time(0), tz).astimezone(UTC)
        until = datetime.combine(last + timedelta(days=1), time(0), tz).astimezone(UTC)
        rows = WarehouseAlertStore(open_warehouse(settings)).list(since, until)
    rows = [
        r
        for r in rows
        if (not kind or r.kind in kind)
        and (device is None or r.device_id == device)
        and (not open_only or r.end_ts is None)
    ]
    if summary:
        hours = outage_hours_by_day([r.to_alert() for r in rows], tz=tz, until=datetime.now(UTC))
        _print_summary(hours, output)
        return
    _print_rows(rows, output, tz)


def _print_rows(rows: list[Any], output: str, tz: Any) -> None:
    import json
    import sys

    if output == "json":
        body = [
            {**r.to_alert().to_dict(), "status": r.status, "incident": r.incident, "notified": r.notified} for r in rows
        ]
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"alerts ({len(rows)}), times in {tz.key}")
    for column in ("start", "end", "kind", "severity", "device", "ch", "status", "sent", "message", "key", "incident"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r.start_ts.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            "" if r.end_ts is None else r.end_ts.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            r.kind,
            r.severity,
            r.device_id,
            "" if r.channel is None else str(r.channel),
            r.status,
            "yes" if r.notified else "no",
            r.message,
            r.key[:12],
            "" if r.incident == r.key else r.incident[:12],
        )
    console = Console()
    console.print(table)
    if not rows:
        console.print("no alerts recorded in that period (the detect function records them)")


def _print_summary(hours: dict[tuple[str, str], float], output: str) -> None:
    import json
    import sys

    if output == "json":
        body = [{"device_id": d, "date": day, "outage_hours": round(h, 4)} for (d, day), h in hours.items()]
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="outage hours per local day")
    for column in ("date", "device", "hours"):
        table.add_column(column)
    for (device_id, day), value in hours.items():
        table.add_row(day, device_id, f"{value:.2f}")
    Console().print(table)
