"""`wattline energy`: daily energy, by tariff zone and with cost, read from the configured warehouse."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from wattline.local.cli_support import HOME_OPTION, warehouse_settings


def register(app: typer.Typer) -> None:
    app.command(no_args_is_help=True)(energy)


def energy(
    start: datetime = typer.Option(
        ..., "--from", formats=["%Y-%m-%d"], help="First local date (YYYY-MM-DD), inclusive."
    ),
    end: datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"], help="Last local date (YYYY-MM-DD), inclusive."),
    device: str = typer.Option(None, "--device", help="Only this device id (default: every device)."),
    tariff: str = typer.Option(
        None,
        "--tariff",
        help="ua-1zone, ua-2zone, ua-3zone (each also as -active: export priced) or a tariff TOML file "
        "(default: the site tariff, WATTLINE_TARIFF).",
    ),
    warehouse: str = typer.Option(
        None, "--warehouse", help="duckdb or bigquery (default: WATTLINE_WAREHOUSE, else duckdb)."
    ),
    home: Path = HOME_OPTION,
    output: str = typer.Option("table", "--format", help="table, json or csv."),
) -> None:
    """Energy per device, channel and local date, read from the warehouse.

    Prints the rows of the daily_energy view: the same objects (same keys,
    same rounding) as `wattline analyze` prints for the same readings.

    The warehouse comes from the WATTLINE_* settings: DuckDB
    (the home's warehouse.duckdb, or WATTLINE_DUCKDB_PATH) or BigQuery
    (WATTLINE_GCP_PROJECT, WATTLINE_BQ_DATASET; run `wattline gcp init`
    first). A --tariff other than the site's is written to the tariff
    tables first, then prices the same days.

    With channel roles (WATTLINE_CHANNELS or a channels table in the home's
    wattline.toml), each site named in them also gets its solar rows,
    computed from the warehouse's hourly energy as `wattline analyze`
    computes them; --format json then prints an object with "days" and
    "solar", as `wattline analyze` does (docs/solar.md).
    """
    from wattline.cli.failures import exit_on_failure
    from wattline.cli.output import print_daily
    from wattline.errors import PermanentError
    from wattline.tariffs import load_tariff
    from wattline.warehouse import fetch_daily_energy, fetch_solar_days, init_warehouse, load_tariffs, open_warehouse

    if output not in ("table", "json", "csv"):
        raise typer.BadParameter("use table, json or csv", param_hint="--format")
    first, last = start.date(), end.date()
    if last < first:
        raise typer.BadParameter(f"--to {last} is before --from {first}", param_hint="--to")
    with exit_on_failure("the warehouse is unavailable for now: try again"):
        settings = warehouse_settings(home, warehouse)
        site_tariff = load_tariff(settings.tariff)
        chosen = load_tariff(tariff) if tariff else site_tariff
        store = open_warehouse(settings)
        if settings.warehouse == "duckdb" and not settings.duckdb_read_only:
            init_warehouse(store, settings)  # embedded: views follow the current settings, cheap to refresh
        if chosen.name != site_tariff.name and settings.duckdb_read_only:
            raise PermanentError(f"the home is read-only: --tariff {chosen.name} cannot be written to its warehouse")
        if chosen.name != site_tariff.name:
            load_tariffs(store, [chosen])
        roles = settings.channel_roles
        days = fetch_daily_energy(
            store, first, last, tariff=chosen, site_tariff=site_tariff.name, device_id=device, roles=roles
        )
        solar = None
        if roles:
            solar = fetch_solar_days(
                store, first, last, tariff=chosen, roles=roles, timezone=settings.timezone, device_id=device
            )
    print_daily(days, output, solar)
