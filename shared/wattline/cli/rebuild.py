"""`wattline rebuild`: recompute energy_hourly from the daily files and report (or repair) every difference."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from wattline.local.cli_support import HOME_OPTION

if TYPE_CHECKING:
    from wattline.loader import LoaderOptions
    from wattline.ports import ObjectStore
    from wattline.rebuild import RebuildReport
    from wattline.warehouse import AdminWarehouse


def register(app: typer.Typer) -> None:
    app.command(name="rebuild")(rebuild)


def rebuild(
    home: Path = HOME_OPTION,
    start: datetime = typer.Option(
        None, "--from", formats=["%Y-%m-%d"], help="First local date (YYYY-MM-DD), inclusive. Default: every day."
    ),
    end: datetime = typer.Option(
        None, "--to", formats=["%Y-%m-%d"], help="Last local date (YYYY-MM-DD), inclusive. Default: every day."
    ),
    apply: bool = typer.Option(
        False, "--apply", help="MERGE the missing and differing rows; delete extra rows of days with a daily file."
    ),
    warehouse: str = typer.Option(
        None, "--warehouse", help="duckdb or bigquery (default: WATTLINE_WAREHOUSE, else duckdb)."
    ),
    output: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Recompute energy_hourly from the daily files alone and compare it with the warehouse.

    The daily files (`daily/dt=…/device=…/readings.jsonl.gz` and their
    manifests in the GCS bucket; locally <home>/gcs/wattline-daily) are the
    source of truth for energy. Each is run through the loader's own
    computation with the loader's settings, without publishing; every row
    that is missing from the warehouse, differs from it (1e-9 relative) or is
    there without a daily file giving it is reported. --apply MERGEs the
    missing and differing rows and deletes an extra row only when its
    device's daily file of that local day loaded; it says which. On a fresh
    or deleted warehouse --apply rebuilds everything (see docs/recovery.md).

    DuckDB: the home's warehouse.duckdb and bucket. BigQuery: the loader's
    WATTLINE_* settings (WATTLINE_GCP_PROJECT, WATTLINE_BUCKET, …).
    """
    from wattline.cli.failures import exit_on_failure
    from wattline.rebuild import rebuild_energy

    if output not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    first = start.date() if start else None
    last = end.date() if end else None
    if first is not None and last is not None and last < first:
        raise typer.BadParameter(f"--to {last} is before --from {first}", param_hint="--to")
    with exit_on_failure("the warehouse or the bucket is unavailable for now: try again"):
        store, target, options, close = _ports(home, warehouse, apply)
        try:
            report = rebuild_energy(store, target, options, start=first, end=last, apply=apply)
        finally:
            close()
    _print(report, output, first, last)


def _ports(
    home: Path | None, warehouse: str | None, apply: bool
) -> tuple[ObjectStore, AdminWarehouse, LoaderOptions, Any]:
    """The bucket, warehouse and loader options: the home's (DuckDB) or the loader's WATTLINE_* settings."""
    from wattline.local.cli_support import existing_home, warehouse_settings
    from wattline.warehouse import init_warehouse, open_warehouse

    settings = warehouse_settings(home, warehouse)
    if settings.warehouse == "bigquery":
        from wattline.adapters.gcs_store import GcsObjectStore
        from wattline.errors import PermanentError
        from wattline.stages import LoaderSettings

        loader = LoaderSettings()
        if not loader.bucket:
            raise PermanentError("set WATTLINE_BUCKET: the bucket holding the daily files")
        store: ObjectStore = GcsObjectStore(loader.bucket, project=loader.gcp_project, endpoint=loader.gcs_endpoint)
        return store, open_warehouse(loader), loader.options(), lambda: None

    from wattline.local.runtime import GCS_BUCKET, Runtime, store_for

    root = existing_home(home)
    runtime = Runtime(root, read_only=not apply)
    if apply:
        runtime.lock()  # one writer per home, as every writing command
    if apply:
        target = open_warehouse(settings)
        init_warehouse(target, settings)  # a deleted warehouse file comes back with its objects and tariffs
    elif settings.duckdb_file.exists():
        target = open_warehouse(settings.model_copy(update={"duckdb_read_only": True}))
    else:  # no warehouse file: compare with an empty one, write nothing
        target = open_warehouse(settings.model_copy(update={"duckdb_path": ":memory:"}))

    def close() -> None:
        closer = getattr(target, "close", None)
        if closer is not None:
            closer()
        runtime.close()

    return store_for(root, GCS_BUCKET), target, runtime.loader_options(), close


def _print(report: RebuildReport, output: str, first: date | None, last: date | None) -> None:
    if output == "json":
        sys.stdout.write(json.dumps(report.to_json(), indent=2, default=str) + "\n")
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    scope = f"{first or 'first'} .. {last or 'last'}"
    console.print(
        f"rebuilt {report.compared} hourly rows from {report.files} daily files ({scope}): "
        f"{report.differing} differing, {report.missing} missing, {report.extra} extra"
    )
    for skipped in report.skipped:
        console.print(f"skipped {skipped['object']}: {skipped['reason']}")
    if report.rows:
        table = Table(box=box.SIMPLE_HEAD)
        for column in ("kind", "device", "ch", "hour_start (UTC)", "fields", "warehouse", "rebuilt", "action"):
            table.add_column(column)
        for row in report.rows:
            table.add_row(
                row["kind"],
                row["device_id"],
                str(row["channel"]),
                row["hour_start"],
                ", ".join(row["fields"]) if row["kind"] == "differing" else "",
                _brief(row["warehouse"], row["fields"]),
                _brief(row["rebuilt"], row["fields"]),
                row.get("action", ""),
            )
        console.print(table)
    if report.applied:
        console.print(
            f"applied: {report.merged} rows merged, {report.deleted} extra rows deleted, "
            f"{report.kept_extra} extra rows kept (no daily file of theirs loaded)"
        )
    elif not report.clean:
        console.print("nothing written: run again with --apply to repair the warehouse")


def _brief(values: dict[str, Any] | None, fields: list[str]) -> str:
    if values is None:
        return "-"
    shown = [name for name in ("import_wh", "export_wh", "estimated_wh") if name in fields] or fields[:3]
    return " ".join(f"{name}={values[name]}" for name in shown)
