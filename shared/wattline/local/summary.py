"""What the local commands print: energy per device and day, the ledger, alerts; and the dashboard file."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from wattline.local.ledger import Ledger, queue_ledger
from wattline.local.runtime import Runtime


def _tariff(runtime: Runtime) -> Any:
    from wattline.tariffs import load_tariff

    return load_tariff(runtime.settings.tariff)


def write_report(runtime: Runtime, path: Path, *, start: date | None = None, end: date | None = None) -> Path:
    from wattline.report.dashboard import collect, render

    readings = None
    if runtime.readings_from_objects:
        from wattline.alerts.objects import daily_readings

        def readings(start_ts: datetime, end_ts: datetime) -> list[Any]:
            return daily_readings(runtime.gcs, start_ts, end_ts)

    data = collect(
        runtime.warehouse,
        runtime.s3.inner,
        timezone=runtime.settings.timezone,
        tariff=_tariff(runtime),
        start=start,
        end=end,
        now=runtime.clock(),
        readings=readings,
        roles=runtime.settings.channel_roles,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data), encoding="utf-8")
    return path


def alert_rows(runtime: Runtime, start: datetime, end: datetime) -> list[dict[str, Any]]:
    try:
        return runtime.warehouse.query(
            "SELECT kind, severity, device_id, channel, start_ts, end_ts, message FROM "
            "`{{project}}.{{dataset}}.alerts` WHERE start_ts >= @start AND start_ts < @end ORDER BY start_ts",
            {"start": start, "end": end},
        )
    except Exception:
        return []


def print_summary(runtime: Runtime, dates: list[str], *, seconds: dict[str, float] | None = None) -> None:
    from wattline.report.tables import solar_tables
    from wattline.warehouse import fetch_daily_energy, fetch_solar_days

    console = Console(width=max(Console().width, 150))
    zone = ZoneInfo(runtime.settings.timezone)
    first, last = date.fromisoformat(dates[0]), date.fromisoformat(dates[-1])
    tariff = _tariff(runtime)
    days = fetch_daily_energy(runtime.warehouse, first, last, tariff=tariff, roles=runtime.settings.channel_roles)
    begin = datetime.combine(first, datetime.min.time(), zone)
    finish = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    alerts = alert_rows(runtime, begin, finish)
    per_day: dict[tuple[str, str], int] = defaultdict(int)
    for row in alerts:
        start = row["start_ts"]
        per_day[(str(row["device_id"]), start.astimezone(zone).date().isoformat())] += 1

    table = Table(title=f"Energy per device and local day ({runtime.settings.timezone}, tariff {tariff.name})")
    zones = list(tariff.zone_names)
    for column in [
        "device",
        "ch",
        "date",
        *[f"{name} kWh" for name in zones],
        "kWh",
        "export kWh",
        f"cost {tariff.currency}",
        "coverage",
        "alerts",
    ]:
        table.add_column(column, justify="left" if column in ("device", "date") else "right")
    for day in days:
        table.add_row(
            day.device_id,
            str(day.channel),
            day.date,
            *[f"{day.zones.get(name, 0.0):.3f}" for name in zones],
            f"{day.energy_kwh:.3f}",
            f"{day.export_kwh:.3f}",
            f"{day.cost:.2f}",
            f"{day.coverage:.1%}",
            str(per_day.get((day.device_id, day.date), 0)),
        )
    console.print(table)
    if runtime.settings.channel_roles:  # as `wattline energy`: roles set, solar rows shown
        roles, timezone = runtime.settings.channel_roles, runtime.settings.timezone
        solar = fetch_solar_days(runtime.warehouse, first, last, tariff=tariff, roles=roles, timezone=timezone)
        for solar_table in solar_tables(solar):
            console.print(solar_table)
    print_ledger(queue_ledger(runtime.queue, runtime.s3.inner, runtime.gcs, runtime.clock()), console)
    alert_table = Table(title="Alerts")
    for column in ("start", "severity", "kind", "device", "ch"):
        alert_table.add_column(column, no_wrap=True)
    alert_table.add_column("message", overflow="fold")
    for row in alerts:
        alert_table.add_row(
            row["start_ts"].astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            str(row["severity"]),
            str(row["kind"]),
            str(row["device_id"]),
            "" if row["channel"] is None else str(row["channel"]),
            str(row["message"]),
        )
    console.print(alert_table)
    if seconds:
        console.print("timings: " + ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items()))


def print_ledger(ledger: Ledger, console: Console | None = None) -> None:
    console = console or Console()
    if ledger.balanced:
        mark = "[green]balanced[/green]"
    elif not ledger.counts_add_up:
        mark = "[red]NOT balanced: the counts do not add up[/red]"
    else:
        mark = "[yellow]counts add up, NOT balanced: " + "; ".join(ledger.stuck) + "[/yellow]"
    console.print(
        f"[bold]Ledger[/bold] (MQTT messages): received {ledger.received} = kept {ledger.kept} + quarantined "
        f"{ledger.quarantined} + duplicates {ledger.duplicates}  {mark};  readings {ledger.readings}"
    )
    if ledger.quarantine_reasons:
        console.print("  quarantined by reason: " + ", ".join(f"{k} {v}" for k, v in ledger.quarantine_reasons.items()))
    console.print(
        f"  device-days aggregated {ledger.days_aggregated}, loaded {ledger.days_loaded}; raw objects "
        f"{ledger.raw_objects}; pending events {sum(ledger.pending_events.values())}"
        + (f" {ledger.pending_events}" if ledger.pending_events else "")
        + f"; device-days waiting {len(ledger.pending_days)}; dead letters {len(ledger.dead_letters)}"
    )
    for letter in ledger.dead_letters:
        console.print(f"  [red]dead[/red] {letter.id} ({letter.kind}, {letter.attempts} attempts): {letter.error}")
    if ledger.note:
        console.print(f"  [yellow]note[/yellow]: {ledger.note}")
