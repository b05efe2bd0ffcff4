"""`wattline whatif`: the same measured hourly energy priced under every preset and given tariff, side by side."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from wattline.cli.analyze import MAX_GAP_HELP, METHOD_HELP, TZ_HELP, _default
from wattline.local.cli_support import HOME_HELP
from wattline.settings import IntegrationMethod

SHIFT_HELP = (
    'Load-shift scenario "KWH_PER_DAY from ZONE to ZONE" (e.g. "3 from day to night"): each local day, up to '
    "KWH_PER_DAY of the energy really used in the source zone moves to the target zone; priced again as extra "
    "rows named TARIFF+shift, saving measured against the current tariff unshifted. A tariff without both zones "
    "gets no shifted row (a note on stderr says so); an error when no tariff has both."
)


def register(app: typer.Typer) -> None:
    app.command(no_args_is_help=True)(whatif)


def whatif(
    files: list[Path] = typer.Argument(
        None,
        exists=True,
        dir_okay=False,
        readable=True,
        help="MQTT captures or canonical-reading JSON Lines (.gz is fine), as `wattline analyze` reads them. "
        "Leave out to read a home's warehouse (--from/--to).",
    ),
    tariffs: list[str] = typer.Option(
        [],
        "--tariff",
        help="A custom tariff TOML file (or a preset name) to compare too; repeatable. The presets ua-1zone, "
        "ua-2zone and ua-3zone are always compared.",
    ),
    current: str = typer.Option(
        None,
        "--current",
        help="The tariff savings are measured against: a compared tariff's name, a preset or a TOML file "
        f"{_default('tariff')}.",
    ),
    shift: str = typer.Option(None, "--shift", help=SHIFT_HELP),
    tz: str = typer.Option(None, "--tz", help=TZ_HELP + " With FILES only; a home uses its own setting."),
    method: IntegrationMethod = typer.Option(None, "--method", help=METHOD_HELP + " With FILES only."),
    max_gap: float = typer.Option(None, "--max-gap", min=1, help=MAX_GAP_HELP + " With FILES only."),
    home: Path = typer.Option(
        None,
        "--home",
        file_okay=False,
        dir_okay=True,
        help=HOME_HELP + " Read with --from/--to instead of FILES: the hourly energy in its warehouse.",
    ),
    start: datetime = typer.Option(
        None, "--from", formats=["%Y-%m-%d"], help="Warehouse mode: first local date (YYYY-MM-DD), inclusive."
    ),
    end: datetime = typer.Option(
        None, "--to", formats=["%Y-%m-%d"], help="Warehouse mode: last local date (YYYY-MM-DD), inclusive."
    ),
    output: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Price the same measured hourly energy under every tariff, side by side.

    Input: FILES (MQTT captures or readings files) give the hourly
    energy `wattline analyze` computes, with its --tz, --method and
    --max-gap; without FILES, --from and --to read the energy_hourly
    rows of a warehouse as `wattline energy` does (--home, or the
    WATTLINE_* warehouse settings).

    Output: one row per device, channel and tariff over the whole
    period: energy_kwh, zones, cost, currency and saving = cost under
    --current minus cost under this tariff (positive: this tariff is
    cheaper; none across currencies). Each local day is priced as
    `wattline analyze` prices it; the period sums the daily rounded
    values. --format json prints a list of objects with the keys
    device_id, channel, tariff, energy_kwh, zones, cost, currency,
    saving. Details: docs/tariffs.md, "What if".
    """
    from wattline.cli.failures import exit_on_failure
    from wattline.errors import PermanentError
    from wattline.tariffs import PRESETS, load_tariff
    from wattline.whatif import compare_tariffs, parse_shift

    if output not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    try:
        scenario = parse_shift(shift) if shift is not None else None
    except PermanentError as exc:
        raise typer.BadParameter(str(exc), param_hint="--shift") from exc
    try:
        custom = [load_tariff(spec) for spec in tariffs]
    except PermanentError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tariff") from exc
    compared = list({t.name: t for t in [*PRESETS.values(), *custom]}.values())

    if files:
        if home is not None or start is not None or end is not None:
            raise typer.BadParameter("give FILES, or --home/--from/--to, not both")
        hourly, timezone, site_tariff = _from_files(files, tz=tz, method=method, max_gap=max_gap)
    else:
        if start is None or end is None:
            raise typer.BadParameter("give FILES, or --from and --to (with --home) to read a warehouse")
        if tz is not None or method is not None or max_gap is not None:
            raise typer.BadParameter("--tz, --method and --max-gap apply to FILES; a warehouse has its own settings")
        if end.date() < start.date():
            raise typer.BadParameter(f"--to {end.date()} is before --from {start.date()}", param_hint="--to")
        with exit_on_failure("the warehouse is unavailable for now: try again"):
            hourly, timezone, site_tariff = _from_warehouse(home, start.date(), end.date())

    try:
        name = current or site_tariff
        chosen = next((t for t in compared if t.name == name), None) or load_tariff(name)
        comparison = compare_tariffs(hourly, compared, current=chosen, timezone=timezone, shift=scenario)
    except PermanentError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for note in comparison.notes:
        typer.echo(f"note: {note}", err=True)
    _print(comparison.rows, output, chosen.name)


def _from_files(
    files: list[Path], *, tz: str | None, method: IntegrationMethod | None, max_gap: float | None
) -> tuple[list[Any], str, str]:
    from wattline.analysis import compute_hourly, read_columns
    from wattline.cli.output import report_input_stats
    from wattline.settings import Settings

    overrides = {
        key: value
        for key, value in {"timezone": tz, "integration_method": method, "max_gap_seconds": max_gap}.items()
        if value is not None
    }
    try:
        settings = Settings.model_validate({**Settings().model_dump(), **overrides})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    columns, stats = read_columns(files)
    report_input_stats(stats)
    hourly = compute_hourly(
        columns,
        timezone=settings.timezone,
        method=settings.integration_method,
        max_gap_s=settings.max_gap_seconds,
        max_power_w=settings.max_power_w,
    )
    return hourly, settings.timezone, settings.tariff


def _from_warehouse(home: Path | None, first: Any, last: Any) -> tuple[list[Any], str, str]:
    from wattline.local.cli_support import warehouse_settings
    from wattline.warehouse import fetch_hourly_energy, init_warehouse, open_warehouse

    settings = warehouse_settings(home, None)
    store = open_warehouse(settings)
    if settings.warehouse == "duckdb" and not settings.duckdb_read_only:
        init_warehouse(store, settings)  # as `wattline energy`: the views follow the current settings
    hourly = fetch_hourly_energy(store, first, last, timezone=settings.timezone)
    return hourly, settings.timezone, settings.tariff


def _print(rows: list[dict[str, Any]], output: str, current: str) -> None:
    import json
    import sys

    from rich.console import Console
    from rich.table import Table

    if output == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    console = Console()
    if not rows:
        console.print("no energy: no usable power or counter readings")
        return
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["device_id"], row["channel"]), []).append(row)
    for (device_id, channel), group in groups.items():
        table = Table(title=f"{device_id} channel {channel}: saving against {current}")
        for column in ("tariff", "kWh", "zones (kWh)", "cost", "saving"):
            table.add_column(column, justify="left" if column in ("tariff", "zones (kWh)") else "right")
        for row in group:
            zones = ", ".join(f"{zone} {kwh:.3f}" for zone, kwh in row["zones"].items())
            saving = "—" if row["saving"] is None else f"{row['saving']:.2f}"
            table.add_row(
                row["tariff"], f"{row['energy_kwh']:.3f}", zones, f"{row['cost']:.2f} {row['currency']}", saving
            )
        console.print(table)
